// Where a message's header block ends. One rule for the stores, which keep every message's header
// apart from its body (so that an IMAP FETCH of headers never reads a body), and for the IMAP MIME
// parser, which finds the header of every part with it: both must cut at the very same byte.

const LF = 0x0a;
const CR = 0x0d;
const BLANK_CRLF = Buffer.from('\n\r\n');
const BLANK_LF = Buffer.from('\n\n');

/**
 * Just past the blank line that ends the header block starting at `start`, or `end` when there is
 * none (a message without a body is all header). A block that starts with its blank line is empty.
 * Line ends may be CRLF or bare LF, mixed. The SQL back-fills in the store migrations compute the
 * same for a whole message (`start` 0); keep them in step.
 */
export function headerBlockEnd(raw: Buffer, start = 0, end = raw.length): number {
  if (start >= end) return end;
  if (raw[start] === LF) return start + 1;
  if (raw[start] === CR && raw[start + 1] === LF) return Math.min(start + 2, end);
  const block = start === 0 && end === raw.length ? raw : raw.subarray(start, end);
  const crlf = block.indexOf(BLANK_CRLF);
  // A bare-LF blank line counts only when it comes before the CRLF one: look no further.
  const within = crlf === -1 ? block : block.subarray(0, crlf + 3);
  const lf = within.indexOf(BLANK_LF);
  if (lf !== -1) return start + lf + 2;
  return crlf === -1 ? end : start + crlf + 3;
}

/** The header block of a whole message (a view of `raw`, not a copy). */
export function headerBlock(raw: Buffer): Buffer {
  return raw.subarray(0, headerBlockEnd(raw));
}
