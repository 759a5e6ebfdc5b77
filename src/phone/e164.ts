/** @module Phone numbers: destinations normalised to E.164 ("+" and 8 to 15 digits), as §7 defines them. */
import { err, ok } from "../shared/result";
import type { Result } from "../shared/result";

const E164 = /^\+\d{8,15}$/;
/** Characters people write between digits, removed before checking. */
const SEPARATORS = /[ \-.()]/g;
/** Inputs longer than this are not phone numbers; refuse them without echoing them whole. */
const DESTINATION_TEXT_CHARS_MAX = 64;
const DIGITS_MIN = 8;
const DIGITS_MAX = 15;

function quoteInput(text: string): string {
  return JSON.stringify(
    text.length > DESTINATION_TEXT_CHARS_MAX ? `${text.slice(0, DESTINATION_TEXT_CHARS_MAX)}…` : text,
  );
}

/** True for an already normalised destination: "+" followed by 8 to 15 digits. */
export function isE164(text: string): boolean {
  return E164.test(text);
}

/**
 * Normalise a destination as people write it ("+44 20 7946-0123", "+1 (555) 010.0199") to
 * E.164 ("+442079460123"). "00…" international prefixes and letters are refused, not guessed at.
 */
export function normalizeDestination(text: string): Result<string, string> {
  if (text.length > DESTINATION_TEXT_CHARS_MAX)
    return err(`${quoteInput(text)} is too long for a phone number`);
  const compact = text.replace(SEPARATORS, "");
  if (isE164(compact)) return ok(compact);
  if (compact === "") return err("is empty: a phone number is + followed by 8 to 15 digits");
  if (/[A-Za-z]/.test(compact))
    return err(`${quoteInput(text)} contains letters: a phone number has only digits`);
  if (/^00\d*$/.test(compact)) {
    return err(`${quoteInput(text)} starts with 00: write the international prefix as + (e.g. +44…)`);
  }
  if (!compact.startsWith("+")) return err(`${quoteInput(text)} must start with + and the country code`);
  const digits = compact.slice(1);
  if (!/^\d+$/.test(digits)) return err(`${quoteInput(text)} contains characters other than digits after +`);
  if (digits.length < DIGITS_MIN)
    return err(`${quoteInput(text)} is too short: it needs at least ${DIGITS_MIN} digits`);
  return err(`${quoteInput(text)} is too long: it has more than ${DIGITS_MAX} digits`);
}
