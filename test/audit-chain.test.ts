/**
 * The tamper-evident audit log: the canonical form and hash (values worked out with printf | sha256sum),
 * then on SQLite and PostgreSQL: per-company chains, triggers refusing UPDATE/DELETE, a changed, a deleted,
 * a renumbered and a truncated entry each found by `verifyAuditChain` and `switchboard audit verify`,
 * concurrent appends that keep one chain, and migration 006 chaining entries written before it.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import fc from "fast-check";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/cli/main";
import { inTransaction, openDatabase } from "../src/db/database";
import type { Database, Dialect } from "../src/db/database";
import { migrate, MIGRATIONS } from "../src/db/migrate";
import {
  AUDIT_GENESIS_HASH,
  auditEntryHash,
  canonicalAuditEntry,
  verifyAuditChain,
  writeAudit,
} from "../src/services/audit";
import type { AuditRecord } from "../src/services/audit";
import { ManualClock } from "../src/time/clock";
import { createTestDatabase, DIALECTS, postgresAvailable } from "./helpers/databases";
import { NOW } from "./helpers/reports";

const pgOk = await postgresAvailable();
const dialects = DIALECTS.filter((d) => d === "sqlite" || pgOk);

const FIRST: AuditRecord = {
  companyId: 1,
  seq: 1,
  atMs: 1_790_000_000_000,
  actor: "ana@acme.example",
  action: "credit.allocated",
  subject: "Zoë",
  details: '{"amount":"5.00"}',
};
const SECOND: AuditRecord = {
  companyId: 1,
  seq: 2,
  atMs: 1_790_000_000_001,
  actor: "member:zoe.ng",
  action: "consent.withdrawn",
  subject: null,
  details: null,
};

describe("the canonical form and the hash of an audit entry", () => {
  it("is a JSON array in a fixed field order, exact integers, UTF-8", () => {
    const bytes = canonicalAuditEntry(FIRST);
    expect(bytes.toString("utf8")).toBe(
      '["switchboard-audit/1",1,1,1790000000000,"ana@acme.example","credit.allocated","Zoë","{\\"amount\\":\\"5.00\\"}"]',
    );
    // ë is the two UTF-8 bytes c3 ab.
    expect(bytes.includes(Buffer.from([0xc3, 0xab]))).toBe(true);
    expect(canonicalAuditEntry(SECOND).toString("utf8")).toBe(
      '["switchboard-audit/1",1,2,1790000000001,"member:zoe.ng","consent.withdrawn",null,null]',
    );
  });

  it("hashes sha256(previous hash bytes ‖ canonical form), chained", () => {
    const h1 = auditEntryHash(AUDIT_GENESIS_HASH, FIRST);
    expect(h1).toBe("4c8b9dd027c9865f469c12300e88dba609b0748ca77e3b7539f831759cd2ee52");
    expect(auditEntryHash(h1, SECOND)).toBe(
      "193e8cec546a1e023784f64e6e24511fdfd0fff788471fea741c642a2cc220c9",
    );
  });

  it("changes with every field, and tells an empty subject from none", () => {
    const base = auditEntryHash(AUDIT_GENESIS_HASH, FIRST);
    const variants: AuditRecord[] = [
      { ...FIRST, companyId: 2 },
      { ...FIRST, seq: 2 },
      { ...FIRST, atMs: FIRST.atMs + 1 },
      { ...FIRST, actor: "ana@acme.example " },
      { ...FIRST, action: "credit.reclaimed" },
      { ...FIRST, subject: "Zoe\u0308" },
      { ...FIRST, subject: "" },
      { ...FIRST, subject: null },
      { ...FIRST, details: '{"amount": "5.00"}' },
    ];
    const hashes = new Set(variants.map((v) => auditEntryHash(AUDIT_GENESIS_HASH, v)));
    expect(hashes.size).toBe(variants.length);
    expect(hashes.has(base)).toBe(false);
    expect(auditEntryHash("f".repeat(64), FIRST)).not.toBe(base);
  });

  it("refuses integers it could not write exactly", () => {
    expect(() => canonicalAuditEntry({ ...FIRST, atMs: 2 ** 53 })).toThrow(/safe integer/);
    expect(() => canonicalAuditEntry({ ...FIRST, seq: 1.5 })).toThrow(/safe integer/);
  });
});

/** Runs the statement with the append-only triggers out of the way, as an attacker with database access would. */
async function bypassTriggers(db: Database, statement: string): Promise<void> {
  if (db.dialect === "postgres") {
    await sql.raw("alter table audit_log disable trigger user").execute(db.k);
    await sql.raw(statement).execute(db.k);
    await sql.raw("alter table audit_log enable trigger user").execute(db.k);
  } else {
    await sql.raw("drop trigger audit_log_no_update").execute(db.k);
    await sql.raw("drop trigger audit_log_no_delete").execute(db.k);
    await sql.raw(statement).execute(db.k);
    await sql
      .raw(
        "create trigger audit_log_no_update before update on audit_log begin select raise(abort, 'audit_log is append-only: UPDATE refused'); end",
      )
      .execute(db.k);
    await sql
      .raw(
        "create trigger audit_log_no_delete before delete on audit_log begin select raise(abort, 'audit_log is append-only: DELETE refused'); end",
      )
      .execute(db.k);
  }
}

async function newCompany(db: Database, name: string): Promise<number> {
  const row = await db.k
    .insertInto("companies")
    .values({
      name,
      currency: "EUR",
      timezone: "Europe/London",
      company_account_id: null,
      created_at_ms: NOW,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return row.id;
}

async function writeEntries(db: Database, companyId: number, n: number): Promise<void> {
  for (let i = 0; i < n; i++)
    await writeAudit(db, companyId, {
      atMs: NOW + i,
      actor: "ana@acme.example",
      action: "test.entry",
      subject: `entry ${i + 1}`,
      details: { i, note: "Zoë ✓" },
    });
}

const entryId = async (db: Database, companyId: number, seq: number): Promise<number> =>
  (
    await db.k
      .selectFrom("audit_log")
      .select("id")
      .where("company_id", "=", companyId)
      .where("seq", "=", seq)
      .executeTakeFirstOrThrow()
  ).id;

describe.each(dialects)("the audit chain on %s", (dialect: Dialect) => {
  let db: Database;
  let drop: () => Promise<void>;
  let cliDir: string | undefined;
  beforeAll(async () => {
    if (dialect === "sqlite") {
      // A file, so that the CLI (its own connection) sees the same database.
      cliDir = fs.mkdtempSync(path.join(os.tmpdir(), "sb-audit-"));
      db = openDatabase(`sqlite:${path.join(cliDir, "audit.db")}`);
      await migrate(db);
      drop = () => db.close();
    } else {
      ({ db, drop } = await createTestDatabase(dialect));
    }
  });
  afterAll(async () => {
    await drop();
    if (cliDir) fs.rmSync(cliDir, { recursive: true, force: true });
  });

  const cli = async (args: string[]) => {
    const out = new PassThrough();
    const err = new PassThrough();
    let outText = "";
    let errText = "";
    out.on("data", (b: Buffer) => (outText += b.toString()));
    err.on("data", (b: Buffer) => (errText += b.toString()));
    const code = await main(["node", "switchboard", ...args], {
      env: { DATABASE_URL: db.url },
      out,
      err,
      clock: new ManualClock(NOW),
    });
    return { code, out: outText, err: errText };
  };

  it("numbers each company's entries 1, 2, 3 … and chains them; verify finds them whole", async () => {
    const a = await newCompany(db, "A");
    const b = await newCompany(db, "B");
    await writeEntries(db, a, 2);
    await writeEntries(db, b, 1);
    await writeEntries(db, a, 1);
    const rows = await db.k
      .selectFrom("audit_log")
      .select(["company_id", "seq", "hash"])
      .where("company_id", "in", [a, b])
      .orderBy("id")
      .execute();
    expect(rows.map((r) => [r.company_id, Number(r.seq)])).toEqual([
      [a, 1],
      [a, 2],
      [b, 1],
      [a, 3],
    ]);
    expect(await verifyAuditChain(db, a)).toMatchObject({
      entries: 3,
      broken: null,
      headHash: rows[3]?.hash,
    });
    expect(await verifyAuditChain(db, b)).toMatchObject({
      entries: 1,
      broken: null,
      headHash: rows[2]?.hash,
    });
    const head = await db.k
      .selectFrom("audit_heads")
      .selectAll()
      .where("company_id", "=", a)
      .executeTakeFirst();
    expect(head).toMatchObject({ seq: 3, hash: rows[3]?.hash });

    const r = await cli(["audit", "verify", "--company", String(a)]);
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(r.out).toBe(`company ${a}: audit log intact, 3 entries, head ${rows[3]?.hash}\n`);
  });

  it("a company without entries verifies as an empty chain", async () => {
    const c = await newCompany(db, "Empty");
    expect(await verifyAuditChain(db, c)).toEqual({
      companyId: c,
      entries: 0,
      headHash: AUDIT_GENESIS_HASH,
      broken: null,
    });
  });

  it("the database refuses UPDATE and DELETE of an entry (and TRUNCATE on PostgreSQL)", async () => {
    const c = await newCompany(db, "Locked");
    await writeEntries(db, c, 1);
    await expect(
      db.k
        .updateTable("audit_log")
        .set({ actor: "someone else" } as never)
        .where("company_id", "=", c)
        .execute(),
    ).rejects.toThrow(/append-only/);
    await expect(db.k.deleteFrom("audit_log").where("company_id", "=", c).execute()).rejects.toThrow(
      /append-only/,
    );
    if (dialect === "postgres")
      await expect(sql.raw("truncate audit_log").execute(db.k)).rejects.toThrow(/append-only/);
    await expect(
      sql`insert into audit_log (company_id, at_ms, actor, action) values (${c}, ${NOW}, ${"x"}, ${"unchained"})`.execute(
        db.k,
      ),
    ).rejects.toThrow();
    expect((await verifyAuditChain(db, c)).broken).toBeNull();
  });

  it("finds an entry changed behind the triggers' back", async () => {
    const c = await newCompany(db, "Edited");
    await writeEntries(db, c, 4);
    const id = await entryId(db, c, 2);
    await bypassTriggers(db, `update audit_log set actor = 'mallory@acme.example' where id = ${id}`);
    expect((await verifyAuditChain(db, c)).broken).toEqual({ kind: "hash_mismatch", seq: 2, id });
    const r = await cli(["audit", "verify", "--company", String(c)]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`company ${c}: the audit log is broken at entry 2 (row id ${id})`);
    expect(r.err).not.toMatch(/\bat\s.+:\d+:\d+/);
  });

  it("finds an entry whose details were edited to the same length", async () => {
    const c = await newCompany(db, "Details");
    await writeEntries(db, c, 3);
    const id = await entryId(db, c, 3);
    await bypassTriggers(
      db,
      `update audit_log set details = replace(details, '"i":2', '"i":7') where id = ${id}`,
    );
    expect((await verifyAuditChain(db, c)).broken).toEqual({ kind: "hash_mismatch", seq: 3, id });
  });

  it("finds a deleted entry", async () => {
    const c = await newCompany(db, "Deleted");
    await writeEntries(db, c, 4);
    const next = await entryId(db, c, 3);
    await bypassTriggers(db, `delete from audit_log where id = ${await entryId(db, c, 2)}`);
    expect((await verifyAuditChain(db, c)).broken).toEqual({
      kind: "missing",
      seq: 2,
      foundSeq: 3,
      id: next,
    });
    const r = await cli(["audit", "verify", "--company", String(c)]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("the audit log is broken at entry 2: it is missing");
  });

  it("finds the last entries deleted (the head still counts them)", async () => {
    const c = await newCompany(db, "Truncated");
    await writeEntries(db, c, 3);
    await bypassTriggers(db, `delete from audit_log where id = ${await entryId(db, c, 3)}`);
    expect((await verifyAuditChain(db, c)).broken).toEqual({ kind: "head_mismatch", seq: 2, headSeq: 3 });
  });

  it("finds two entries swapped by renumbering them", async () => {
    const c = await newCompany(db, "Reordered");
    await writeEntries(db, c, 4);
    const two = await entryId(db, c, 2);
    const three = await entryId(db, c, 3);
    await bypassTriggers(db, `update audit_log set seq = -1 where id = ${two}`);
    await bypassTriggers(db, `update audit_log set seq = 2 where id = ${three}`);
    await bypassTriggers(db, `update audit_log set seq = 3 where id = ${two}`);
    expect((await verifyAuditChain(db, c)).broken).toEqual({ kind: "hash_mismatch", seq: 2, id: three });
  });

  it("verify without --company checks every company and exits 1 naming each broken one", async () => {
    const r = await cli(["audit", "verify"]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/audit log intact/);
    expect(r.err).toMatch(/the audit log of 5 of \d+ companies is broken/);
    expect((await cli(["audit", "verify", "--company", "999999"])).code).toBe(1);
    expect((await cli(["audit", "verify", "--company", "x"])).err).toContain(
      "--company must be a company id",
    );
  });

  it("concurrent appends for one company keep one chain without gaps", async () => {
    const c = await newCompany(db, "Busy");
    const writers = 12;
    const perWriter = 5;
    await Promise.all(
      Array.from({ length: writers }, (_, w) =>
        inTransaction(db, async (tx) => {
          for (let i = 0; i < perWriter; i++)
            await writeAudit(tx, c, {
              atMs: NOW,
              actor: `writer ${w}`,
              action: "test.concurrent",
              details: { i },
            });
        }),
      ),
    );
    const seqs = (
      await db.k.selectFrom("audit_log").select("seq").where("company_id", "=", c).orderBy("seq").execute()
    ).map((r) => Number(r.seq));
    expect(seqs).toEqual(Array.from({ length: writers * perWriter }, (_, i) => i + 1));
    expect(await verifyAuditChain(db, c)).toMatchObject({ entries: writers * perWriter, broken: null });
  });

  it("property: any one changed field of any entry is found at that entry", async () => {
    const text = fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 });
    const entry = fc.record({
      actor: text,
      action: text,
      subject: fc.option(text, { nil: null }),
      details: fc.option(fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(fc.integer(), text)), {
        nil: null,
      }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(entry, { minLength: 1, maxLength: 6 }),
        fc.nat(),
        fc.constantFrom("actor", "action", "subject", "details", "at_ms"),
        text,
        async (entries, pick, field, replacement) => {
          const c = await newCompany(db, "Property");
          for (const e of entries) await writeAudit(db, c, { atMs: NOW, ...e });
          const seq = (pick % entries.length) + 1;
          const row = await db.k
            .selectFrom("audit_log")
            .selectAll()
            .where("company_id", "=", c)
            .where("seq", "=", seq)
            .executeTakeFirstOrThrow();
          const value = field === "at_ms" ? String(NOW + 1) : `'${replacement.replace(/'/g, "''")}'`;
          if (field !== "at_ms" && row[field] === replacement) return; // not a change
          await bypassTriggers(db, `update audit_log set ${field} = ${value} where id = ${row.id}`);
          expect((await verifyAuditChain(db, c)).broken).toEqual({ kind: "hash_mismatch", seq, id: row.id });
        },
      ),
      { numRuns: dialect === "sqlite" ? 25 : 15 },
    );
  });

  it("a failed transaction leaves no entry and no gap", async () => {
    const c = await newCompany(db, "Rolled back");
    await writeEntries(db, c, 1);
    await expect(
      inTransaction(db, async (tx) => {
        await writeAudit(tx, c, { atMs: NOW, actor: "x", action: "test.rolled_back" });
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    await writeEntries(db, c, 1);
    expect(await verifyAuditChain(db, c)).toMatchObject({ entries: 2, broken: null });
  });
});

describe.each(dialects)("migration 006 on %s", (dialect: Dialect) => {
  it("chains the entries written before it, per company in id order, then appends after them", async () => {
    const { db, drop } = await createTestDatabase(dialect);
    try {
      // Rebuild the database as it was before 006: drop everything, run migrations 1–5 only.
      if (dialect === "postgres") {
        await sql.raw("drop schema public cascade; create schema public").execute(db.k);
      } else {
        const tables = await sql<{
          name: string;
        }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(db.k);
        await sql.raw("pragma foreign_keys = off").execute(db.k);
        for (const t of tables.rows) await sql.raw(`drop table "${t.name}"`).execute(db.k);
        await sql.raw("pragma foreign_keys = on").execute(db.k);
      }
      await sql`create table schema_migrations (version integer primary key, name text not null, applied_at_ms bigint not null)`.execute(
        db.k,
      );
      for (const m of MIGRATIONS.filter((m) => m.version < 6)) {
        await db.k.transaction().execute((trx) => m.up(trx as never, dialect));
        await sql`insert into schema_migrations values (${m.version}, ${m.name}, ${NOW})`.execute(db.k);
      }
      const a = await newCompany(db, "A");
      const b = await newCompany(db, "B");
      const old = [
        [a, "first"],
        [b, "second"],
        [a, "third"],
      ] as const;
      for (const [company, action] of old)
        await sql`insert into audit_log (company_id, at_ms, actor, action, subject, details)
          values (${company}, ${NOW}, ${"ana@acme.example"}, ${action}, ${null}, ${'{"k":1}'})`.execute(db.k);

      expect(await migrate(db)).toContain(6);
      const rows = await db.k
        .selectFrom("audit_log")
        .select(["company_id", "seq", "action", "hash"])
        .orderBy("id")
        .execute();
      expect(rows.map((r) => [r.company_id, Number(r.seq), r.action])).toEqual([
        [a, 1, "first"],
        [b, 1, "second"],
        [a, 2, "third"],
      ]);
      const first = auditEntryHash(AUDIT_GENESIS_HASH, {
        companyId: a,
        seq: 1,
        atMs: NOW,
        actor: "ana@acme.example",
        action: "first",
        subject: null,
        details: '{"k":1}',
      });
      expect(rows[0]?.hash).toBe(first);
      await writeEntries(db, a, 1);
      expect(await verifyAuditChain(db, a)).toMatchObject({ entries: 3, broken: null });
      expect(await verifyAuditChain(db, b)).toMatchObject({ entries: 1, broken: null });
    } finally {
      await drop();
    }
  });
});
