import { describe, expect, it } from 'vitest';
import { Framer } from './framer.ts';
import type { FrameEvent, FramerLimits } from './framer.ts';
import { prng } from '../../../test/support/prng.ts';

const LIMITS: FramerLimits = { maxLine: 200, maxLiteral: 1000, maxCommand: 2000 };

function frame(input: string | Buffer | (string | Buffer)[], limits = LIMITS): FrameEvent[] {
  const f = new Framer(limits);
  const chunks = Array.isArray(input) ? input : [input];
  return chunks.flatMap((c) => f.push(Buffer.isBuffer(c) ? c : Buffer.from(c, 'latin1')));
}

const commands = (events: FrameEvent[]) => events.flatMap((e) => (e.type === 'command' ? [e.bytes.toString('latin1')] : []));

describe('IMAP framer', () => {
  it('frames one command per line, without its CRLF, and pipelined commands in order', () => {
    expect(commands(frame('a1 NOOP\r\na2 CAPABILITY\r\na3 LOGOUT\r\n'))).toEqual(['a1 NOOP', 'a2 CAPABILITY', 'a3 LOGOUT']);
  });

  it('joins a command split across chunks, byte by byte', () => {
    const text = 'a1 LOGIN me secret\r\na2 NOOP\r\n';
    expect(commands(frame([...text]))).toEqual(['a1 LOGIN me secret', 'a2 NOOP']);
  });

  it('tolerates a bare LF and skips blank lines between commands', () => {
    expect(commands(frame('\r\n\na1 NOOP\na2 NOOP\r\n'))).toEqual(['a1 NOOP', 'a2 NOOP']);
  });

  it('asks for continuation on a synchronizing literal and keeps the literal inside the command', () => {
    const events = frame(['a1 LOGIN {2}\r\n', 'me {6}\r\n', 'sec\r\nt\r\n']);
    expect(events.filter((e) => e.type === 'continue')).toEqual([
      { type: 'continue', size: 2 },
      { type: 'continue', size: 6 },
    ]);
    expect(commands(events)).toEqual(['a1 LOGIN {2}\r\nme {6}\r\nsec\r\nt']);
  });

  it('does not ask for continuation on a non-synchronizing literal (LITERAL+)', () => {
    const events = frame('a1 APPEND INBOX {5+}\r\nhello\r\na2 NOOP\r\n');
    expect(events.some((e) => e.type === 'continue')).toBe(false);
    expect(commands(events)).toEqual(['a1 APPEND INBOX {5+}\r\nhello', 'a2 NOOP']);
  });

  it('reads a literal holding CRLF and literal-looking text as data', () => {
    const data = 'x {3}\r\n\r\nA NOOP\r\n';
    const events = frame(`a1 APPEND INBOX {${data.length}+}\r\n${data}\r\n`);
    expect(commands(events)).toEqual([`a1 APPEND INBOX {${data.length}+}\r\n${data}`]);
  });

  it('refuses a synchronizing literal over the limit, sends no continuation, and goes on', () => {
    const events = frame('a1 APPEND INBOX {5000}\r\na2 NOOP\r\n');
    expect(events[0]).toEqual({ type: 'error', kind: 'literal-too-large', tag: 'a1', size: 5000, fatal: false });
    expect(events.some((e) => e.type === 'continue')).toBe(false);
    expect(commands(events)).toEqual(['a2 NOOP']);
  });

  it('reads past a refused non-synchronizing literal, drops the command, and goes on', () => {
    const big = 'x'.repeat(1500);
    const events = frame(['a1 APPEND INBOX {1500+}\r\n', big.slice(0, 700), `${big.slice(700)} more {3+}\r\nabc\r\na2 NOOP\r\n`]);
    expect(events[0]).toMatchObject({ type: 'error', kind: 'literal-too-large', tag: 'a1', fatal: false });
    expect(commands(events)).toEqual(['a2 NOOP']);
  });

  it('gives up on a non-synchronizing literal too large to read through', () => {
    const f = new Framer(LIMITS);
    const events = f.push(Buffer.from('a1 APPEND INBOX {999999999999+}\r\nxxxx\r\na2 NOOP\r\n'));
    expect(events).toEqual([{ type: 'error', kind: 'literal-too-large', tag: 'a1', size: 999999999999, fatal: true }]);
    expect(f.push(Buffer.from('a3 NOOP\r\n'))).toEqual([]);
  });

  it('refuses a command whose literals add up past the command limit', () => {
    const events = frame('a1 X {900}\r\n' + 'y'.repeat(900) + ' {900}\r\n' + 'z'.repeat(900) + ' {900}\r\na2 NOOP\r\n');
    expect(events.find((e) => e.type === 'error')).toMatchObject({ kind: 'command-too-large', tag: 'a1' });
    expect(commands(events)).toEqual(['a2 NOOP']);
  });

  it('refuses an over-long line, then frames the next command', () => {
    const events = frame(['a1 NOOP ' + 'x'.repeat(150), 'y'.repeat(150) + '\r\na2 NOOP\r\n']);
    expect(events[0]).toEqual({ type: 'error', kind: 'line-too-long', tag: 'a1', fatal: false });
    expect(commands(events)).toEqual(['a2 NOOP']);
  });

  it('forgets everything buffered on reset', () => {
    const f = new Framer(LIMITS);
    f.push(Buffer.from('a1 LOGIN {10}\r\nab'));
    expect(f.inLiteral).toBe(true);
    f.reset();
    expect(commands(f.push(Buffer.from('a2 NOOP\r\n')))).toEqual(['a2 NOOP']);
  });

  it('frames the same commands however the stream is cut', () => {
    const stream = 'a1 LOGIN {2+}\r\nme "x y"\r\na2 APPEND INBOX (\\Seen) {11}\r\nhello\r\nthere\r\na3 FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n';
    const whole = commands(frame(stream));
    expect(whole).toHaveLength(3);
    const rand = prng(42);
    for (let round = 0; round < 300; round++) {
      const chunks: string[] = [];
      let rest = stream;
      while (rest) {
        const n = 1 + Math.floor(rand() * 12);
        chunks.push(rest.slice(0, n));
        rest = rest.slice(n);
      }
      expect(commands(frame(chunks))).toEqual(whole);
    }
  });

  it('never throws on random bytes, and every command stays within the limits', () => {
    const rand = prng(7);
    const alphabet = ['{', '}', '+', '\r', '\n', ' ', 'a', '1', '9', '0', '"', '\\', '(', ')', '\x00', '\xff'];
    for (let round = 0; round < 500; round++) {
      const f = new Framer(LIMITS);
      for (let c = 0; c < 20; c++) {
        const len = Math.floor(rand() * 60);
        let s = '';
        for (let i = 0; i < len; i++) {
          s += rand() < 0.7 ? alphabet[Math.floor(rand() * alphabet.length)] : String.fromCharCode(Math.floor(rand() * 256));
        }
        for (const e of f.push(Buffer.from(s, 'latin1'))) {
          if (e.type === 'command') expect(e.bytes.length).toBeLessThanOrEqual(LIMITS.maxCommand + LIMITS.maxLine);
        }
      }
    }
  });
});
