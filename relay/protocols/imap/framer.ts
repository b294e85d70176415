// Bytes → whole IMAP commands. A command is one line, or several lines joined by literals
// ({n} synchronizing, {n+} non-synchronizing, RFC 7888). The framer never interprets a command: it
// only finds where each one ends, asks for continuation when a synchronizing literal may follow,
// and enforces the line and literal bounds. Pure and synchronous, so it can be fuzzed alone.

export interface FramerLimits {
  /** Longest line (between literals) in bytes, CRLF included. */
  maxLine: number;
  /** Largest literal accepted. */
  maxLiteral: number;
  /** Largest whole command: lines and literals together. */
  maxCommand: number;
}

export type FrameErrorKind = 'line-too-long' | 'literal-too-large' | 'command-too-large';

export type FrameEvent =
  /** A whole command, without its final CRLF; literal data stays embedded after its `{n}` CRLF. */
  | { type: 'command'; bytes: Buffer }
  /** A synchronizing literal of this size was accepted: the server sends a continuation request. */
  | { type: 'continue'; size: number }
  /**
   * The command being framed was refused and is dropped. `fatal`: the stream cannot be resynchronized
   * (a client announced more data than we are willing to read past) and the connection must close.
   */
  | { type: 'error'; kind: FrameErrorKind; tag: string | null; size?: number; fatal: boolean };

/** Beyond this, a refused non-synchronizing literal is not even read through: the connection ends. */
const DISCARD_CAP = 64 * 1024 * 1024;

const LITERAL_AT_END = /\{(\d{1,12})(\+?)\}$/;
const TAG = /^[\x21-\x7e]+$/;

export class Framer {
  private parts: Buffer[] = [];
  private commandSize = 0;
  private lineParts: Buffer[] = [];
  private lineSize = 0;
  /** Bytes of literal data still to come. */
  private literalLeft = 0;
  /** Dropping the rest of an over-long line. */
  private discardingLine = false;
  /** The current command was refused: frame it to its end, keep nothing, report nothing more. */
  private skipping = false;
  private firstLine: string | null = null;
  private dead = false;

  constructor(public limits: FramerLimits) {}

  /** Forgets everything buffered (after STARTTLS, nothing sent in plaintext may survive). */
  reset(): void {
    this.parts = [];
    this.commandSize = 0;
    this.lineParts = [];
    this.lineSize = 0;
    this.literalLeft = 0;
    this.discardingLine = false;
    this.skipping = false;
    this.firstLine = null;
  }

  /** True while bytes of a literal are expected: a client's line is not a new command then. */
  get inLiteral(): boolean {
    return this.literalLeft > 0;
  }

  push(chunk: Buffer): FrameEvent[] {
    const events: FrameEvent[] = [];
    if (this.dead) return events;
    let pos = 0;
    while (pos < chunk.length) {
      if (this.literalLeft > 0) {
        const n = Math.min(this.literalLeft, chunk.length - pos);
        if (!this.skipping) this.parts.push(chunk.subarray(pos, pos + n));
        this.literalLeft -= n;
        pos += n;
        continue;
      }
      const nl = chunk.indexOf(0x0a, pos);
      const end = nl === -1 ? chunk.length : nl + 1;
      const piece = chunk.subarray(pos, end);
      pos = end;
      if (this.discardingLine) {
        if (nl !== -1) this.discardingLine = false;
        continue;
      }
      this.lineSize += piece.length;
      if (this.lineSize > this.limits.maxLine) {
        if (!this.skipping) events.push({ type: 'error', kind: 'line-too-long', tag: this.tagOf(this.lineParts[0] ?? piece), fatal: false });
        // The over-long line ends the command, whatever it announced.
        this.reset();
        this.discardingLine = nl === -1;
        continue;
      }
      this.lineParts.push(piece);
      if (nl === -1) continue;
      this.endOfLine(events);
      if (this.dead) break;
    }
    return events;
  }

  private endOfLine(events: FrameEvent[]): void {
    let line = this.lineParts.length === 1 ? this.lineParts[0]! : Buffer.concat(this.lineParts, this.lineSize);
    this.lineParts = [];
    this.lineSize = 0;
    // Strip CRLF (a bare LF is tolerated).
    let stop = line.length - 1;
    if (stop > 0 && line[stop - 1] === 0x0d) stop--;
    line = line.subarray(0, stop);
    if (this.firstLine === null) {
      if (line.length === 0 && this.parts.length === 0) return; // blank lines between commands
      this.firstLine = line.subarray(0, 64).toString('latin1');
    }
    this.commandSize += line.length + 2;
    const tail = line.subarray(Math.max(0, line.length - 16)).toString('latin1');
    const literal = LITERAL_AT_END.exec(tail);
    if (!literal) {
      if (!this.skipping) {
        this.parts.push(line);
        events.push({ type: 'command', bytes: this.parts.length === 1 ? line : Buffer.concat(this.parts) });
      }
      this.startCommand();
      return;
    }
    const size = Number(literal[1]);
    const sync = literal[2] !== '+';
    if (this.skipping) {
      // A refused command's client may be waiting for a continuation we never send: it abandons the
      // command, so a synchronizing literal ends it here.
      if (sync) this.startCommand();
      else this.skipLiteral(size);
      return;
    }
    let kind: FrameErrorKind | null = null;
    if (size > this.limits.maxLiteral) kind = 'literal-too-large';
    else if (this.commandSize + size > this.limits.maxCommand) kind = 'command-too-large';
    if (kind) {
      events.push({ type: 'error', kind, tag: this.tagOf(), size, fatal: !sync && size > DISCARD_CAP });
      if (sync) {
        // The client sends nothing more of this command.
        this.startCommand();
      } else {
        this.skipping = true;
        this.skipLiteral(size);
      }
      return;
    }
    this.parts.push(line, CRLF);
    this.commandSize += size;
    this.literalLeft = size;
    if (sync) events.push({ type: 'continue', size });
  }

  private skipLiteral(size: number): void {
    if (size > DISCARD_CAP) {
      this.dead = true;
      return;
    }
    this.literalLeft = size;
  }

  private startCommand(): void {
    this.parts = [];
    this.commandSize = 0;
    this.skipping = false;
    this.firstLine = null;
  }

  private tagOf(current?: Buffer): string | null {
    const text = this.firstLine ?? (current ? current.subarray(0, 64).toString('latin1') : '');
    const tag = text.split(' ', 1)[0] ?? '';
    return TAG.test(tag) && !tag.includes('{') ? tag : null;
  }
}

const CRLF = Buffer.from('\r\n');
