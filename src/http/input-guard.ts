/**
 * @module The first look at a request's input, before any parser or validator: JSON nested deeper than
 * JSON_DEPTH_MAX, and the NUL character anywhere (path, query or body), are refused with a clear 400.
 * NUL has no use in any field, and PostgreSQL cannot store it in text: refusing it here keeps both
 * databases answering the same, instead of one storing it and the other failing.
 */
import type { MiddlewareHandler } from "hono";
import { AppError } from "../shared/errors";
import { JSON_DEPTH_MAX } from "../shared/limits";
import type { AppEnv } from "./context";

const BODYLESS_METHODS = new Set(["GET", "HEAD", "OPTIONS", "DELETE"]);

/** True when the JSON text nests arrays/objects deeper than `depthMax` (strings are skipped, not parsed). */
export function jsonDepthExceeds(text: string, depthMax: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c)
        i++; // a backslash escapes the next character
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x5b || ch === 0x7b) {
      if (++depth > depthMax) return true;
    } else if (ch === 0x5d || ch === 0x7d) depth--;
  }
  return false;
}

/** True when the JSON text has a NUL: raw, or escaped as \u0000 (and not an escaped backslash before "u0000"). */
export function jsonHasNul(text: string): boolean {
  if (text.includes("\u0000")) return true;
  for (let at = text.indexOf("u0000"); at !== -1; at = text.indexOf("u0000", at + 1)) {
    let backslashes = 0;
    for (let i = at - 1; i >= 0 && text.charCodeAt(i) === 0x5c; i--) backslashes++;
    if (backslashes % 2 === 1) return true;
  }
  return false;
}

const hasEncodedNul = (url: string): boolean => /%00/i.test(url) || url.includes("\u0000");

export function inputGuard(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (hasEncodedNul(c.req.url))
      throw new AppError("invalid_input", "the request's path or query contains a NUL character (%00)");
    const type = c.req.header("content-type") ?? "";
    if (!BODYLESS_METHODS.has(c.req.method) && type !== "") {
      const text = await c.req.text();
      const isJson = /\bjson\b/i.test(type);
      if (isJson ? jsonHasNul(text) : text.includes("\u0000"))
        throw new AppError("invalid_input", "the request body contains a NUL character (U+0000)");
      if (isJson && jsonDepthExceeds(text, JSON_DEPTH_MAX))
        throw new AppError("invalid_input", `the JSON body is nested deeper than ${JSON_DEPTH_MAX} levels`);
    }
    return next();
  };
}
