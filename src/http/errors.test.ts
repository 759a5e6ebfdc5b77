import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { AppError } from "../shared/errors";
import type { AppEnv } from "./context";
import { onError } from "./errors";

/** A one-route app whose handler throws what it is given, answered by the real onError. */
function answerTo(error: unknown): Promise<Response> {
  const app = new Hono<AppEnv>();
  app.get("/x", () => {
    throw error;
  });
  app.onError(onError);
  return Promise.resolve(app.request("/x"));
}

describe("onError", () => {
  it("answers an AppError with its code's status and the error shape", async () => {
    const res = await answerTo(new AppError("insufficient_balance", "the company balance is short"));
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({
      error: { code: "insufficient_balance", message: "the company balance is short" },
    });
  });

  it("answers a PostgreSQL deadlock or serialization failure with 503 busy and Retry-After", async () => {
    for (const code of ["40P01", "40001"]) {
      const res = await answerTo(Object.assign(new Error("deadlock detected"), { code }));
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("1");
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("busy");
      expect(body.error.message).not.toMatch(/deadlock/);
    }
  });

  it("hides anything else behind a 500 without internals", async () => {
    const errors = console.error;
    console.error = () => undefined;
    try {
      const res = await answerTo(new Error('relation "secret_table" does not exist'));
      expect(res.status).toBe(500);
      expect(JSON.stringify(await res.json())).not.toMatch(/secret_table/);
    } finally {
      console.error = errors;
    }
  });
});
