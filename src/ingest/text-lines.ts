/** @module Reading a text file line by line with bounded memory: the framing under both usage file formats. */
import fs from "node:fs";

/** Bytes read from disk at a time. */
export const READ_CHUNK_BYTES = 1024 * 1024;

/** One physical line, numbered from 1; `text` is null when the line was longer than the limit (and dropped). */
export interface TextLine {
  line: number;
  text: string | null;
}

/**
 * The file's lines, without their line ends (LF or CRLF) and without a leading byte-order mark. A line
 * longer than `charsMax` is never held whole: it comes back as `text: null`, and the next line is read
 * normally. The stream decodes UTF-8 across chunk boundaries, so splitting the text at "\n" is safe.
 */
export async function* textLines(filePath: string, charsMax: number): AsyncGenerator<TextLine> {
  const input = fs.createReadStream(filePath, { encoding: "utf8", highWaterMark: READ_CHUNK_BYTES });
  let line = 0;
  let carry = "";
  let tooLong = false;
  const finish = (text: string): TextLine => {
    line++;
    if (tooLong || text.length > charsMax + 1) return { line, text: null };
    let clean = text.endsWith("\r") ? text.slice(0, -1) : text;
    if (line === 1 && clean.startsWith("\uFEFF")) clean = clean.slice(1);
    return { line, text: clean.length > charsMax ? null : clean };
  };
  try {
    for await (const chunk of input as AsyncIterable<string>) {
      let start = 0;
      for (;;) {
        const end = chunk.indexOf("\n", start);
        if (end === -1) break;
        const piece = chunk.slice(start, end);
        yield finish(carry === "" ? piece : carry + piece);
        carry = "";
        tooLong = false;
        start = end + 1;
      }
      if (!tooLong && start < chunk.length) {
        carry += chunk.slice(start);
        // Beyond the limit the line's text is of no use: stop keeping it, but still count it as one line.
        if (carry.length > charsMax + 1) {
          tooLong = true;
          carry = "";
        }
      }
    }
    if (carry !== "" || tooLong) yield finish(carry);
  } finally {
    input.destroy();
  }
}
