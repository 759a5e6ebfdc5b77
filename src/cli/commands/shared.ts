/** @module Small argument parsers shared by commands. */
import { invalid } from "../../shared/errors";

export function parseCompanyId(text: string): number {
  if (!/^[1-9]\d{0,15}$/.test(text))
    throw invalid(`--company must be a company id, a positive whole number (got "${text}")`);
  return Number(text);
}
