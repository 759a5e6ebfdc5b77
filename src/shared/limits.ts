/**
 * @module Every limit of Switchboard in one place, each named with its unit last. The limits of the HTTP
 * edge are defined here; the others live beside the code that enforces them and are re-exported, so that
 * this file is the one catalogue (docs/security.md lists it) without a second copy of any number.
 *
 * Statement time: PostgreSQL cancels any statement after STATEMENT_TIMEOUT_MS (set per connection on the
 * pool). SQLite has no statement timeout; its statements are bounded instead by the row limits below (pages,
 * batches, files) and by the company-month scope of every report query (reports stream their rows), and a
 * writer waits at most SQLITE_BUSY_TIMEOUT_MS for another process's write lock.
 */

// ---- the HTTP edge (defined here)

/** Request bodies larger than this are refused with 413 (usage batches are the largest). */
export const REQUEST_BODY_BYTES_MAX = 8 * 1024 * 1024;
/**
 * Nesting of arrays and objects in a JSON request body. The deepest legitimate body (a usage batch) has 3
 * levels; deeper bodies are refused with 400 before any parser or validator recurses through them.
 */
export const JSON_DEPTH_MAX = 32;

// ---- elsewhere, enforced where they are defined

export { IDEMPOTENCY_KEY_LENGTH_MAX } from "../http/idempotency";
export { LIST_ROWS_MAX, SUBJECT_REF_CHARS_MAX, PLAN_NAME_CHARS_MAX } from "../http/routes/billing.routes";
export { STATEMENT_TIMEOUT_MS, SQLITE_BUSY_TIMEOUT_MS } from "../db/database";
export { PASSWORD_LENGTH_MAX } from "../auth/password";
export {
  LOGIN_FAILURES_PER_EMAIL_MAX,
  LOGIN_FAILURES_PER_ADDRESS_MAX,
  LOGIN_WINDOW_MS,
} from "../services/auth.service";
export {
  NAME_CHARS_MAX,
  USERNAME_CHARS_MAX,
  EMAIL_CHARS_MAX,
  GROUP_NAME_CHARS_MAX,
  API_KEY_NAME_CHARS_MAX,
  MEMBERS_PAGE_ROWS_MAX,
  MEMBERS_IMPORT_ROWS_MAX,
  MEMBER_GROUPS_MAX,
} from "../services/member-admin.service";
export { REFERENCE_LENGTH_MAX } from "../services/purchase.service";
export { USAGE_BATCH_RECORDS_MAX } from "../services/usage.service";
export { USAGE_FILE_LINES_MAX, USAGE_FILE_LINE_CHARS_MAX } from "../ingest/usage-file";
export { EXTERNAL_ID_CHARS_MAX, CALL_DURATION_S_MAX, SMS_SEGMENTS_MAX } from "../ingest/usage-record";
export { BUNDLE_EVENTS_MAX, BUNDLE_MEMBERS_MAX } from "../bundle/bundle.schema";
export { IMPORT_FILE_BYTES_MAX } from "../cli/commands/import";
export { ZIP_FILES_MAX } from "../documents/zip";
/** Reports are not paged by the API: their rows stream, read from the database in bounded batches. */
export { STREAM_CHUNK_ROWS, USAGE_BATCH_ROWS } from "../reports/queries";
export { MINOR_MAX } from "../money/money";
