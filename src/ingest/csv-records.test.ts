/** @module Tests of the CSV record reader: cells, line numbers, recovery from a missing quote, and round trips with csv-stringify. */
import fc from "fast-check";
import { stringify } from "csv-stringify/sync";
import { describe, expect, it } from "vitest";
import { CSV_RECORD_LINES_MAX, csvRecords, splitCsvRecord } from "./csv-records";
import type { CsvRecord } from "./csv-records";
import type { TextLine } from "./text-lines";

/** The lines of a file's text as textLines gives them: split at LF, CR of CRLF removed. */
function linesOf(text: string): TextLine[] {
  const parts = text.split("\n");
  if (parts.at(-1) === "") parts.pop();
  return parts.map((part, i) => ({ line: i + 1, text: part.endsWith("\r") ? part.slice(0, -1) : part }));
}

async function read(text: string, charsMax = 1_000): Promise<CsvRecord[]> {
  const out: CsvRecord[] = [];
  for await (const r of csvRecords(linesOf(text), charsMax)) out.push(r);
  return out;
}

describe("splitCsvRecord", () => {
  it.each([
    ["a,b,c", ["a", "b", "c"]],
    ["a,,", ["a", "", ""]],
    ["", [""]],
    ['"a,b",c', ["a,b", "c"]],
    ['"say ""hi""",x', ['say "hi"', "x"]],
    ['"",x', ["", "x"]],
    ['x,""', ["x", ""]],
    ['ab"c,d', ['ab"c', "d"]],
  ])("%j", (text, cells) => {
    expect(splitCsvRecord(text)).toEqual({ kind: "cells", cells });
  });

  it("says when a quoted cell goes on to the next line, and when text follows a closing quote", () => {
    expect(splitCsvRecord('a,"b')).toEqual({ kind: "open" });
    expect(splitCsvRecord('"bad"q,1')).toEqual({
      kind: "bad",
      reason: "a quoted cell has text after its closing quote",
    });
  });
});

describe("csvRecords", () => {
  it("numbers records by the line they start on, skipping blank lines", async () => {
    expect(await read('h1,h2\r\n1,"x\r\ny"\r\n\r\n2,3\r\n4,"p\nq"\r\n5,6')).toEqual([
      { kind: "cells", line: 1, cells: ["h1", "h2"] },
      { kind: "cells", line: 2, cells: ["1", "x\ny"] },
      { kind: "cells", line: 5, cells: ["2", "3"] },
      { kind: "cells", line: 6, cells: ["4", "p\nq"] },
      { kind: "cells", line: 8, cells: ["5", "6"] },
    ]);
  });

  it("refuses only the line of a quote never closed, and reads the lines after it", async () => {
    expect(await read('a,b\n"unclosed,1\n2,3\n4,5\n')).toEqual([
      { kind: "cells", line: 1, cells: ["a", "b"] },
      {
        kind: "unreadable",
        line: 2,
        cells: ['"unclosed,1'],
        reason: 'a quoted cell is never closed (a " is missing)',
      },
      { kind: "cells", line: 3, cells: ["2", "3"] },
      { kind: "cells", line: 4, cells: ["4", "5"] },
    ]);
  });

  it("gives up on an open quote after CSV_RECORD_LINES_MAX lines or the character limit", async () => {
    const many = ['"open', ...Array.from({ length: CSV_RECORD_LINES_MAX + 2 }, (_, i) => `r${i},x`)].join(
      "\n",
    );
    const records = await read(many);
    expect(records[0]).toMatchObject({ kind: "unreadable", line: 1 });
    expect(records.slice(1).map((r) => r.line)).toEqual(
      Array.from({ length: CSV_RECORD_LINES_MAX + 2 }, (_, i) => i + 2),
    );

    const long = await read(`"open\n${"y".repeat(50)}\nz,1\n`, 40);
    expect(long.map((r) => [r.kind, r.line])).toEqual([
      ["unreadable", 1],
      ["cells", 2],
      ["cells", 3],
    ]);
  });

  it("refuses a line that was too long to keep", async () => {
    const lines: TextLine[] = [
      { line: 1, text: "a,b" },
      { line: 2, text: null },
      { line: 3, text: "c,d" },
    ];
    const out: CsvRecord[] = [];
    for await (const r of csvRecords(lines, 10)) out.push(r);
    expect(out).toEqual([
      { kind: "cells", line: 1, cells: ["a", "b"] },
      { kind: "unreadable", line: 2, cells: [], reason: "is longer than 10 characters" },
      { kind: "cells", line: 3, cells: ["c", "d"] },
    ]);
  });

  it("reads back cell for cell what csv-stringify writes (CRLF, quotes, commas, line breaks)", async () => {
    // Line breaks inside cells come back as LF: a CRLF in a cell reads as "\n".
    const cell = fc.string({ unit: fc.constantFrom("a", "é", ",", '"', " ", "\n", "x", "1", "-") });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(cell, { minLength: 2, maxLength: 5 }), { maxLength: 10 }),
        async (rows) => {
          // As the rejects file is written: csv-stringify quotes a lone CR or LF only when told to.
          const text = stringify(rows, { record_delimiter: "\r\n", quoted_match: /[\r\n]/ });
          const records = await read(text, 10_000);
          expect(records.map((r) => (r.kind === "cells" ? r.cells : r))).toEqual(rows);
        },
      ),
    );
  });
});
