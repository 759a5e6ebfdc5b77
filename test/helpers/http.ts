/**
 * @module HTTP test harness: the real app in-process (`app.request`, no ports) on a real database, a
 * settable clock, and a client that keeps its session cookie and CSRF token like a browser.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { loadConfig } from "../../src/config";
import type { Database, Dialect } from "../../src/db/database";
import { createApp } from "../../src/http/app";
import type { AppEnv } from "../../src/http/context";
import { ManualClock } from "../../src/time/clock";
import { createTestDatabase } from "./databases";
import { NOW } from "./reports";

export interface TestServer {
  app: OpenAPIHono<AppEnv>;
  db: Database;
  clock: ManualClock;
  drop(): Promise<void>;
  client(): TestClient;
}

export async function createTestServer(
  dialect: Dialect,
  env: Record<string, string> = {},
): Promise<TestServer> {
  const { db, drop } = await createTestDatabase(dialect);
  const clock = new ManualClock(NOW);
  const app = createApp({ db, clock, config: loadConfig({ LOG_LEVEL: "silent", ...env }) });
  return { app, db, clock, drop, client: () => new TestClient(app) };
}

export interface TestResponse {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON bodies
  json: any;
}

export class TestClient {
  cookie: string | undefined;
  csrf: string | undefined;
  bearer: string | undefined;
  constructor(private readonly app: OpenAPIHono<AppEnv>) {}

  async request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<TestResponse> {
    const h: Record<string, string> = { ...headers };
    if (body !== undefined && typeof body !== "string") h["content-type"] = "application/json";
    if (this.cookie) h["cookie"] = this.cookie;
    if (this.csrf && method !== "GET" && !("x-csrf-token" in h)) h["x-csrf-token"] = this.csrf;
    if (this.bearer) h["authorization"] = `Bearer ${this.bearer}`;
    const res = await this.app.request(path, {
      method,
      headers: h,
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    const setCookie = res.headers.get("set-cookie");
    if (setCookie) {
      const first = setCookie.split(";")[0] ?? "";
      this.cookie = first.endsWith("=") ? undefined : first;
    }
    const text = await res.text();
    let json: unknown = undefined;
    if ((res.headers.get("content-type") ?? "").includes("json") && text !== "") json = JSON.parse(text);
    return { status: res.status, headers: res.headers, text, json };
  }

  get = (path: string, headers?: Record<string, string>) => this.request("GET", path, undefined, headers);
  post = (path: string, body?: unknown, headers?: Record<string, string>) =>
    this.request("POST", path, body ?? {}, headers);
  put = (path: string, body?: unknown, headers?: Record<string, string>) =>
    this.request("PUT", path, body ?? {}, headers);
  patch = (path: string, body?: unknown, headers?: Record<string, string>) =>
    this.request("PATCH", path, body ?? {}, headers);
  delete = (path: string, headers?: Record<string, string>) =>
    this.request("DELETE", path, undefined, headers);

  async login(email: string, password: string, companyId?: number): Promise<TestResponse> {
    const res = await this.post("/api/v1/auth/login", {
      email,
      password,
      ...(companyId ? { company_id: companyId } : {}),
    });
    if (res.status === 200) this.csrf = (res.json as { csrf_token: string }).csrf_token;
    return res;
  }
}
