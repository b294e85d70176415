// The POP3 command parser: bytes in, whole lines and commands out, nothing else. No sockets, no
// state beyond the unfinished line, so it can be tested (and fuzzed) on its own.

const LF = 0x0a;
const CR = 0x0d;

export type LineEvent = { type: 'line'; line: Buffer } | { type: 'too-long' };

/**
 * Splits a byte stream into lines at LF (a CR before it is dropped). A line longer than `maxLine`
 * is not kept: its bytes are skipped up to its end, then one 'too-long' event stands for it, so
 * memory stays bounded whatever a client sends.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private length = 0;
  private discarding = false;

  constructor(readonly maxLine: number) {}

  push(chunk: Buffer): LineEvent[] {
    const events: LineEvent[] = [];
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(LF, start);
      const end = nl === -1 ? chunk.length : nl;
      if (!this.discarding) {
        this.length += end - start;
        // One byte more than the limit may be the CR of the line's CRLF.
        if (this.length > this.maxLine + 1) {
          this.discarding = true;
          this.parts = [];
        } else this.parts.push(chunk.subarray(start, end));
      }
      if (nl === -1) break;
      if (this.discarding) events.push({ type: 'too-long' });
      else {
        let line = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts);
        if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
        // A copy, so that a kept line never pins the socket's whole chunk.
        events.push(line.length > this.maxLine ? { type: 'too-long' } : { type: 'line', line: Buffer.from(line) });
      }
      this.parts = [];
      this.length = 0;
      this.discarding = false;
      start = nl + 1;
    }
    return events;
  }

  /** Forgets a partial line (after STLS nothing sent in the clear may count). */
  reset(): void {
    this.parts = [];
    this.length = 0;
    this.discarding = false;
  }
}

export interface Command {
  /** Upper case, e.g. `RETR`. */
  keyword: string;
  /** The arguments split at spaces. */
  args: string[];
  /** Everything after the keyword and its one space, as sent (PASS may hold spaces). */
  rest: string;
}

export type ParseResult = { ok: true; command: Command } | { ok: false; error: string };

/** RFC 1939: a keyword is 3 or 4 characters; RFC 2449 allows extensions up to 40. */
const KEYWORD = /^[A-Za-z][A-Za-z0-9-]{0,39}$/;

/** Control bytes other than TAB: no POP3 command holds one. */
function hasControl(line: Buffer): boolean {
  for (const byte of line) if ((byte < 0x20 && byte !== 0x09) || byte === 0x7f) return true;
  return false;
}

/** One line (without its CRLF) to a command. Bytes are read as latin1, so no byte is lost. */
export function parseCommand(line: Buffer): ParseResult {
  const text = line.toString('latin1');
  if (text.trim() === '') return { ok: false, error: 'Empty command.' };
  if (hasControl(line)) return { ok: false, error: 'The command holds control characters.' };
  const space = text.indexOf(' ');
  const keyword = space === -1 ? text : text.slice(0, space);
  if (!KEYWORD.test(keyword)) return { ok: false, error: 'Not a POP3 command.' };
  const rest = space === -1 ? '' : text.slice(space + 1);
  const args = rest.split(/[ \t]+/).filter((a) => a.length > 0);
  return { ok: true, command: { keyword: keyword.toUpperCase(), args, rest } };
}
