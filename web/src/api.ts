/** @module The web app's only way to the server: fetch against /api/v1, JSON in and out, CSRF on writes, typed errors. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

let csrfToken: string | undefined;
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

export const API = "/api/v1";

async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  const h: Record<string, string> = { accept: "application/json", ...headers };
  if (body !== undefined && typeof body !== "string") h["content-type"] = "application/json";
  if (method !== "GET" && csrfToken) h["x-csrf-token"] = csrfToken;
  const res = await fetch(API + path, {
    method,
    headers: h,
    credentials: "same-origin",
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  const data: unknown =
    text && (res.headers.get("content-type") ?? "").includes("json") ? JSON.parse(text) : text;
  if (!res.ok) {
    const e = (data as { error?: { code?: string; message?: string; details?: Record<string, unknown> } })
      .error;
    throw new ApiError(
      res.status,
      e?.code ?? "error",
      e?.message ?? `request failed (${res.status})`,
      e?.details,
    );
  }
  return data as T;
}

export const api = {
  get: <T>(path: string) => request<T>("GET", path),
  post: <T>(path: string, body: unknown = {}, headers?: Record<string, string>) =>
    request<T>("POST", path, body, headers),
  put: <T>(path: string, body: unknown = {}) => request<T>("PUT", path, body),
  patch: <T>(path: string, body: unknown = {}) => request<T>("PATCH", path, body),
  delete: <T>(path: string) => request<T>("DELETE", path),
};

/** A fresh key for a write that moves money: a retried click never moves it twice. */
export const idempotencyKey = (): Record<string, string> => ({ "idempotency-key": crypto.randomUUID() });

export interface Session {
  kind: "admin" | "member";
  company: { id: number; name: string; currency: string; timezone: string };
  email: string | null;
  name: string;
  role: "owner" | "admin" | "viewer" | "member";
  username: string | null;
  privacy_acknowledged: boolean;
  csrf_token: string;
}
