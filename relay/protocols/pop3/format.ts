// Messages on the POP3 wire (RFC 1939 §3): lines end in CRLF, a line that begins with "." gets one
// more in front, and ".\r\n" alone ends the response. Pure functions over bytes, so that a client
// that undoes the stuffing gets back exactly the bytes the relay stored.

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const CRLF = Buffer.from('\r\n');

/** Where each line of `raw` starts and whether it is cut by a bare LF (no CR before it). */
function needsWork(raw: Buffer): boolean {
  if (raw.length === 0) return false;
  if (raw[0] === DOT) return true;
  for (let nl = raw.indexOf(LF); nl !== -1; nl = raw.indexOf(LF, nl + 1)) {
    if (nl === 0 || raw[nl - 1] !== CR) return true;
    if (raw[nl + 1] === DOT) return true;
  }
  return false;
}

/**
 * The multi-line body for RETR/TOP: bare LFs become CRLF, leading dots are doubled, and the body
 * ends with CRLF (the caller adds the terminating ".\r\n"). Mail that needs neither (nearly all of
 * it) is passed through without a copy.
 */
export function stuff(raw: Buffer): Buffer {
  const endsWell = raw.length === 0 || (raw.length >= 2 && raw[raw.length - 2] === CR && raw[raw.length - 1] === LF);
  if (!needsWork(raw)) return endsWell ? raw : Buffer.concat([raw, CRLF]);
  const parts: Buffer[] = [];
  let start = 0;
  while (start < raw.length) {
    const nl = raw.indexOf(LF, start);
    const end = nl === -1 ? raw.length : nl;
    // The line's content without its terminator (a CR right before the LF belongs to the terminator).
    const contentEnd = nl !== -1 && end > start && raw[end - 1] === CR ? end - 1 : end;
    if (raw[start] === DOT) parts.push(Buffer.from('.'));
    parts.push(raw.subarray(start, contentEnd), CRLF);
    if (nl === -1) break;
    start = nl + 1;
  }
  return Buffer.concat(parts);
}

/** The offset just past the blank line that ends the header, or the whole length when there is none. */
export function headerEnd(raw: Buffer): number {
  let lineStart = 0;
  while (lineStart < raw.length) {
    const nl = raw.indexOf(LF, lineStart);
    if (nl === -1) return raw.length;
    const content = nl > lineStart && raw[nl - 1] === CR ? nl - 1 : nl;
    if (content === lineStart) return nl + 1;
    lineStart = nl + 1;
  }
  return raw.length;
}

/** TOP: the header, the blank line, and the first `lines` lines of the body, unstuffed. */
export function topOf(raw: Buffer, lines: number): Buffer {
  const bodyStart = headerEnd(raw);
  let end = bodyStart;
  for (let i = 0; i < lines && end < raw.length; i++) {
    const nl = raw.indexOf(LF, end);
    end = nl === -1 ? raw.length : nl + 1;
  }
  return raw.subarray(0, end);
}
