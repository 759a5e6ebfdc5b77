/** @module Server configuration from environment variables, validated at start with one clear message per bad one. */
import { z } from "zod";
import { DEFAULT_DATABASE_URL } from "./db/database";
import { USAGE_RETENTION_MONTHS_DEFAULT, USAGE_RETENTION_MONTHS_MAX } from "./services/retention.service";
import { AppError } from "./shared/errors";

const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");

const ConfigSchema = z.object({
  DATABASE_URL: z.string().min(1).default(DEFAULT_DATABASE_URL),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default("127.0.0.1"),
  /** Mark cookies Secure and send HSTS: set when the server is reached over HTTPS (directly or via a proxy). */
  SECURE_COOKIES: bool.default(false),
  SESSION_TTL_MINUTES: z.coerce
    .number()
    .int()
    .min(5)
    .max(60 * 24 * 30)
    .default(12 * 60),
  /** Trust X-Forwarded-For for the client address (login throttling): only behind a proxy you run. */
  TRUST_PROXY: bool.default(false),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  /** Megabytes of rendered report documents each server process keeps (0 turns the report cache off). */
  REPORT_CACHE_MB: z.coerce.number().int().min(0).max(4096).default(64),
  /** The public base URL, used in invitation links. */
  PUBLIC_URL: z.string().url().optional(),
  /** The seller printed on purchase receipts. */
  SELLER_NAME: z.string().max(200).default("Switchboard"),
  /** The seller's postal address on receipts; lines separated by newlines or a literal backslash-n. */
  SELLER_ADDRESS: z.string().max(1000).optional(),
  /** The seller's VAT identification number on receipts. */
  SELLER_VAT_ID: z.string().max(100).optional(),
  /** Months of per-call usage detail kept (the current one included); older detail is purged daily. 0 = forever. */
  USAGE_RETENTION_MONTHS: z.coerce
    .number()
    .int()
    .min(0)
    .max(USAGE_RETENTION_MONTHS_MAX)
    .default(USAGE_RETENTION_MONTHS_DEFAULT),
});

/** Who sells the credit: the seller block of every purchase receipt. */
export interface SellerConfig {
  name: string;
  /** Address lines, possibly none. */
  address: string[];
  vatId: string | undefined;
}

export interface ServerConfig {
  databaseUrl: string;
  port: number;
  host: string;
  secureCookies: boolean;
  sessionTtlMs: number;
  trustProxy: boolean;
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
  reportCacheBytes: number;
  publicUrl: string | undefined;
  seller: SellerConfig;
  /** USAGE_RETENTION_MONTHS: months of usage detail kept; 0 keeps it forever. */
  usageRetentionMonths: number;
}

export function loadConfig(env: Readonly<Record<string, string | undefined>>): ServerConfig {
  const picked: Record<string, string> = {};
  for (const key of Object.keys(ConfigSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== "") picked[key] = v;
  }
  const parsed = ConfigSchema.safeParse(picked);
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (i) => `${String(i.path[0])}: ${i.message} (got "${picked[String(i.path[0])] ?? ""}")`,
    );
    throw new AppError("invalid_input", `bad configuration — ${lines.join("; ")}`);
  }
  const c = parsed.data;
  return {
    databaseUrl: c.DATABASE_URL,
    port: c.PORT,
    host: c.HOST,
    secureCookies: c.SECURE_COOKIES,
    sessionTtlMs: c.SESSION_TTL_MINUTES * 60_000,
    trustProxy: c.TRUST_PROXY,
    logLevel: c.LOG_LEVEL,
    reportCacheBytes: c.REPORT_CACHE_MB * 1024 * 1024,
    publicUrl: c.PUBLIC_URL,
    seller: {
      name: c.SELLER_NAME,
      address: (c.SELLER_ADDRESS ?? "")
        .split(/\r?\n|\\n/)
        .map((l) => l.trim())
        .filter((l) => l !== ""),
      vatId: c.SELLER_VAT_ID,
    },
    usageRetentionMonths: c.USAGE_RETENTION_MONTHS,
  };
}
