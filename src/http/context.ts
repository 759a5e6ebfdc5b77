/** @module What every request handler can reach: the dependencies, and who is asking. */
import type { ServerConfig } from "../config";
import type { Database } from "../db/database";
import type { Admin } from "../db/schema";
import type { Clock } from "../time/clock";

export interface ServerDeps {
  readonly db: Database;
  readonly clock: Clock;
  readonly config: ServerConfig;
}

export const API_KEY_SCOPES = [
  "reports:read",
  "usage:write",
  "members:read",
  "members:write",
  "billing:write",
] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** Who is asking: a signed-in admin or member (session cookie), or an integration (API key). */
export type Principal =
  | { kind: "admin"; companyId: number; admin: Admin; csrfToken: string; sessionHash: string }
  | {
      kind: "member";
      companyId: number;
      memberId: number;
      username: string;
      csrfToken: string;
      sessionHash: string;
    }
  | { kind: "api_key"; companyId: number; keyId: number; name: string; scopes: ReadonlySet<ApiKeyScope> };

export interface AppEnv {
  Variables: {
    deps: ServerDeps;
    principal: Principal | undefined;
    /** The principal's company's revision, read with the principal (one query instead of two). */
    companyRevision: number | undefined;
  };
}

/** A stable label of the principal for audit entries and idempotency keys. */
export function principalLabel(p: Principal): string {
  switch (p.kind) {
    case "admin":
      return p.admin.email;
    case "member":
      return `member:${p.username}`;
    case "api_key":
      return `api-key:${p.keyId}:${p.name}`;
  }
}
