// Finds the one-time code in a mail's subject and text.
//
// Candidates:
//  - digit runs of 4–8 digits. Groups written for reading ("482 913", "482-913", "4 8 2 9 1 3",
//    "5523-0917") are joined when the groups are regular (all 2–4 digits of about equal length, or
//    all single digits); a run of more than 8 digits (phone, IBAN, tracking number) yields nothing;
//  - upper-case letter+digit tokens of 4–8 characters ("A1B2C3", "XK4-92T" → "XK492T", "F7K2N").
//    Hyphens inside them are reading separators like the spaces between digit groups, so they are
//    dropped: a code box takes "XK492T", and a site that shows "XK4-92T" accepts it without the
//    hyphen. Letters-then-digits ("SPRING25") is the shape of a promotion and counts only when it
//    stands alone; all-letter tokens ("FKQRN", at most one vowel, so not a word) and lower- or
//    mixed-case tokens ("a8k2p9") count only alone on their line or cell right under a code word;
//  - a short letter prefix is not part of the code: "G-482913" gives "482913".
// Each candidate is judged by the nearest vocabulary word before it (and the first after it):
// "code" next to it makes it a code, "order"/"invoice"/"phone" next to it rules it out, and a
// word that labels another number in between ("code for order 55120877: 318204") is skipped. It
// then gains for standing alone on its line or table cell, for emphasis, and for a subject that
// names a code. Shapes that are never codes (prices, years, dates, times, phone numbers, URLs,
// long numbers, units) are cut before any scoring. The best candidate above a threshold wins.

import { Kw, buildRe, fold, scanKeywords } from './keywords.ts';
import type { KwHit } from './keywords.ts';

/** Text beyond this is not scanned. */
export const MAX_TEXT_CHARS = 20_000;

/** Minimum score for a candidate to be reported. */
const THRESHOLD = 6;

type Shape = 'digits' | 'grouped' | 'spaced' | 'alnum' | 'ld' | 'letters' | 'mixed';

interface Candidate {
  /** The code as typed. */
  value: string;
  /** As written (with separators). */
  raw: string;
  start: number;
  end: number;
  shape: Shape;
}

interface Judgement {
  kind: 'strong' | 'weak' | 'neg' | 'hard' | null;
  /** Characters between the deciding word and the candidate. */
  dist: number;
  /** A sentence ends between the word and the candidate. */
  broken: boolean;
}

const NONE: Judgement = { kind: null, dist: Infinity, broken: false };

// Full-width and Arabic-Indic digits, full-width letters, odd spaces: mapped one-for-one to ASCII
// so that positions do not move.
const WIDE_RE = /[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\uff1a\u0660-\u0669\u06f0-\u06f9\u00a0\u2000-\u200a\u202f\u205f\u3000\r]/g;

export function normalizeText(s: string): string {
  WIDE_RE.lastIndex = 0;
  if (!WIDE_RE.test(s)) return s;
  return s.replace(WIDE_RE, (ch) => {
    const c = ch.charCodeAt(0);
    if (c >= 0xff10 && c <= 0xff19) return String.fromCharCode(c - 0xff10 + 48);
    if (c >= 0xff21 && c <= 0xff3a) return String.fromCharCode(c - 0xff21 + 65);
    if (c >= 0xff41 && c <= 0xff5a) return String.fromCharCode(c - 0xff41 + 97);
    if (c === 0xff1a) return ':';
    if (c >= 0x0660 && c <= 0x0669) return String.fromCharCode(c - 0x0660 + 48);
    if (c >= 0x06f0 && c <= 0x06f9) return String.fromCharCode(c - 0x06f0 + 48);
    if (c === 13) return '\n';
    return ' ';
  });
}

const DIGIT_RUN_RE = /\d(?:[ \-\u2010\u2011\u2013]?\d){3,}/g;
const SEP_RE = /[ \-\u2010\u2011\u2013]/;
const ALNUM_RE = /[0-9A-Z]{2,}(?:[-\u2010\u2011][0-9A-Z]{2,})*/g;
/** A lower- or mixed-case token alone in its line or cell; only ever taken under a code label. */
const MIXED_RE = /^[ *"'([]*([0-9A-Za-z]{5,8})[ *"')\].!]*$/;
const NUMBER_BETWEEN_RE = /(?<![\d.,])\d{3,}(?![.,]\d)|(?:^|[^a-z\d])(?=[a-z]*\d[a-z]*\d)[a-z\d]{5,}(?![a-z\d])/;
const SENTENCE_END_RE = /[.!?。！？](?:\s|$)/;
/** Mails whose codes are not one-time codes: meeting invitations, travel, gift cards. */
const OTHER_CODES_WORDS = [

  // meetings
  'meeting id', 'meeting-id', 'join zoom', 'zoom.us', 'teams meeting', 'webex', 'dial-in', 'conference id',
  'besprechungs-id', 'id de réunion', 'id de reunión', 'id da reunião', 'id riunione', 'vergader-id',
  'identyfikator spotkania', 'идентификатор конференции', 'toplantı kimliği', 'ミーティングid', 'ミーティング id',
  '会议号', '会议 id', '회의 id', 'معرف الاجتماع',
  // travel
  'itinerary', 'boarding', 'check-in:', 'check-in date', 'flight', 'reiseplan', 'buchungsbestätigung',
  'flug', 'vol n', "carte d'embarquement", 'itinéraire', 'vuelo', 'itinerario', 'voo ', 'volo ', 'vlucht',
  'lot nr', 'рейс', 'uçuş', 'フライト', '搭乗', '航班', '登机', '항공편', '탑승', 'رحلة', 'حجز فندق',
  // gift cards
  'gift card', 'giftcard', 'geschenkkarte', 'gutscheinkarte', 'carte cadeau', 'carte-cadeau', 'tarjeta regalo',
  'tarjeta de regalo', 'cartão presente', 'cartão-presente', 'carta regalo', 'cadeaukaart', 'karta podarunkowa',
  'подарочн', 'hediye kart', 'ギフトカード', '礼品卡', '禮品卡', '기프트 카드', '기프트카드', 'بطاقة هدية',
];
/** The words start a word (or are CJK): the lookbehind spares the engine most positions. */
const OTHER_CODES_TEST = new RegExp(`(?<![0-9a-z])(?:${buildRe(OTHER_CODES_WORDS, '').source})`);

const BEFORE_BAD = new Set([...'$€£¥₹₽₺₩¢#№/\\_=&?@%~^|+©§']);
const BEFORE_SPACE_BAD = new Set([...'$€£¥₹₽₺₩©#№+)§/']);
const AFTER_BAD = new Set([...'%€$£¥₹₽₺₩°@_=&/\\+′″年月日円元원년월일時分秒号個件点位名台回次']);
const UNITS = new Set([
  'eur', 'euro', 'euros', 'usd', 'gbp', 'chf', 'pln', 'zł', 'zl', 'rub', 'руб', 'рублей', 'рубля', 'try', 'tl',
  'jpy', 'cny', 'rmb', 'krw', 'sar', 'aed', 'egp', 'brl', 'mxn', 'ars', 'cop', 'inr', 'rs', 'kr', 'sek', 'nok',
  'dkk', 'czk', 'huf', 'ron', 'dollars', 'dollar', 'pounds', 'reais', 'lira', 'lei', 'yen', 'yuan', 'won',
  'km', 'kg', 'mb', 'gb', 'tb', 'kb', 'mah', 'ml', 'cm', 'mm', 'px', 'pt', 'pts', 'points', 'punkte', 'puntos',
  'pontos', 'punti', 'punten', 'punktów', 'баллов', 'балла', 'puan', 'miles', 'meilen', 'items', 'stück',
  'pcs', 'uhr', 'am', 'pm', 'users', 'members', 'people', 'kcal', 'steps', 'ريال', 'درهم', 'جنيه',
]);

function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '9';
}

function isAsciiAlnum(ch: string | undefined): boolean {
  if (ch === undefined) return false;
  const c = ch.charCodeAt(0);
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function isUpper(ch: string | undefined): boolean {
  return ch !== undefined && ch >= 'A' && ch <= 'Z';
}

/** "G-482913", "FB-48213": a short letter prefix that is not part of the code. */
function letterPrefix(t: string, dash: number): boolean {
  let j = dash - 1;
  while (j >= 0 && dash - j <= 4 && isUpper(t[j])) j--;
  const count = dash - 1 - j;
  return count >= 1 && count <= 3 && !isAsciiAlnum(t[j]);
}

function badBefore(t: string, s: number): boolean {
  const c = t[s - 1];
  if (c === undefined || c === '\n' || c === '\t') return false;
  if (isAsciiAlnum(c) || BEFORE_BAD.has(c)) return true;
  const c2 = t[s - 2];
  if ((c === '.' || c === ',' || c === ':') && isDigit(c2)) return true;
  if (c === '.' && isAsciiAlnum(c2)) return true;
  if (c === '-' || c === '\u2010' || c === '\u2011') return !letterPrefix(t, s - 1);
  if (c === ' ' && c2 !== undefined && (BEFORE_SPACE_BAD.has(c2) || isDigit(c2))) return true;
  if (c === ' ' && isUnitWord(precedingWord(t, s - 1))) return true;
  return false;
}

function badAfter(t: string, e: number): boolean {
  const c = t[e];
  if (c === undefined || c === '\n' || c === '\t') return false;
  if (isAsciiAlnum(c) || AFTER_BAD.has(c)) return true;
  const c2 = t[e + 1];
  if ((c === '.' || c === ',' || c === ':' || c === '-' || c === '\u2010' || c === '\u2011') && isAsciiAlnum(c2)) return true;
  if (c === ' ') {
    if (c2 !== undefined && AFTER_BAD.has(c2)) return true;
    if (isUnitWord(followingWord(t, e + 1))) return true;
  }
  return false;
}

function isNumeric(shape: Shape): boolean {
  return shape === 'digits' || shape === 'grouped' || shape === 'spaced';
}

function isAllDigits(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Letters of any script and currency signs: what a unit or currency word is made of. */
function isUnitChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 36 || (c >= 0xc0 && c !== 0xd7 && c !== 0xf7 && !(c >= 0x2000 && c <= 0x206f) && !(c >= 0x3000 && c <= 0x303f));
}

function followingWord(t: string, from: number): string {
  let j = from;
  while (j < t.length && j - from < 10 && isUnitChar(t.charCodeAt(j))) j++;
  return t.slice(from, j);
}

function precedingWord(t: string, end: number): string {
  let j = end;
  while (j > 0 && end - j < 10 && isUnitChar(t.charCodeAt(j - 1))) j--;
  return t.slice(j, end);
}

function isUnitWord(w: string): boolean {
  return w.length > 0 && w.length <= 8 && (UNITS.has(w) || UNITS.has(w.toLowerCase()));
}

function isYear(v: string): boolean {
  if (v.length !== 4) return false;
  const n = Number(v);
  return n >= 1900 && n <= 2099;
}

function isDate8(v: string): boolean {
  return /^(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])$|^(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2])(?:19|20)\d\d$/.test(v);
}

/** Digit runs, with reading separators removed when they are plainly for reading. */
function digitCandidates(t: string, out: Candidate[]): void {
  DIGIT_RUN_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = DIGIT_RUN_RE.exec(t)) !== null) {
    const raw = m[0];
    const s = m.index;
    const e = s + raw.length;
    const digits = raw.length <= 8 && isAllDigits(raw) ? raw : raw.replace(/\D/g, '');
    if (digits.length > 8 || digits.length < 4) continue;
    if (badBefore(t, s) || badAfter(t, e)) continue;
    if (digits.length === raw.length) {
      out.push({ value: digits, raw, start: s, end: e, shape: 'digits' });
      continue;
    }
    const groups = raw.split(SEP_RE);
    const seps = raw.replace(/\d/g, '');
    const sameSep = seps.split('').every((c) => c === seps[0]);
    let min = 99;
    let max = 0;
    for (const g of groups) {
      min = Math.min(min, g.length);
      max = Math.max(max, g.length);
    }
    if (sameSep && max === 1 && groups.length >= 4) {
      out.push({ value: digits, raw, start: s, end: e, shape: 'spaced' });
    } else if (sameSep && min >= 2 && max <= 4 && max - min <= 1) {
      out.push({ value: digits, raw, start: s, end: e, shape: 'grouped' });
    } else if (!seps.includes('-') && !seps.includes('\u2013')) {
      // "482913 10 minutes": the space joins two separate numbers.
      let at = s;
      for (const g of groups) {
        if (g.length >= 4 && g.length <= 8) out.push({ value: g, raw: g, start: at, end: at + g.length, shape: 'digits' });
        at += g.length + 1;
      }
    }
  }
}

const VOWELS_RE = /[AEIOU]/g;

function alnumCandidates(t: string, out: Candidate[]): void {
  ALNUM_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = ALNUM_RE.exec(t)) !== null) {
    const raw = m[0];
    if (raw.length < 4 || raw.length > 11) continue;
    let letters = 0;
    for (let i = 0; i < raw.length; i++) {
      const ch = raw.charCodeAt(i);
      if (ch >= 65 && ch <= 90) letters++;
    }
    if (letters === 0) continue;
    const value = raw.length > 8 || raw.includes('-') || raw.includes('\u2010') || raw.includes('\u2011') ? raw.replace(/[-\u2010\u2011]/g, '') : raw;
    if (value.length < 4 || value.length > 8) continue;
    const digits = value.length - letters;
    const s = m.index;
    const e = s + raw.length;
    const b = t[s - 1];
    if (b !== undefined && (isAsciiAlnum(b) || '-_/\\@#=&+$€£%'.includes(b) || ((b === '.' || b === ':') && isAsciiAlnum(t[s - 2])))) continue;
    if (badAfter(t, e)) continue;
    let shape: Shape;
    if (digits === 0) {
      if (value.length < 5 || (value.match(VOWELS_RE)?.length ?? 0) > 1) continue;
      shape = 'letters';
    } else if (value.length === 4 && (letters < 2 || digits < 2)) {
      continue;
    } else if (/^[A-Z]+\d+$|^\d+[A-Z]+$/.test(value)) {
      shape = 'ld';
    } else {
      shape = 'alnum';
    }
    out.push({ value, raw, start: s, end: e, shape });
  }
}

function mixedCandidates(t: string, out: Candidate[]): void {
  // Walk the lines and cells; only short ones can hold a lone token.
  let nextTab = t.indexOf('\t');
  let nextNl = t.indexOf('\n');
  for (let start = 0; start <= t.length; ) {
    if (nextTab !== -1 && nextTab < start) nextTab = t.indexOf('\t', start);
    if (nextNl !== -1 && nextNl < start) nextNl = t.indexOf('\n', start);
    const end = Math.min(nextTab === -1 ? t.length : nextTab, nextNl === -1 ? t.length : nextNl);
    if (end - start >= 5 && end - start <= 16) {
      const m = MIXED_RE.exec(t.slice(start, end));
      const raw = m?.[1];
      if (m && raw) {
        let lower = 0;
        let letters = 0;
        for (let i = 0; i < raw.length; i++) {
          const c = raw.charCodeAt(i);
          if (c >= 97) lower++;
          if (c >= 65) letters++;
        }
        const digits = raw.length - letters;
        // Upper-case tokens are read by the main scan; "mp3", "h264", "covid19" are not codes.
        if (lower > 0 && letters >= 2 && digits >= 2 && !/^[A-Za-z]+\d+$|^\d+[A-Za-z]+$/.test(raw)) {
          const at = start + m[0].indexOf(raw);
          out.push({ value: raw, raw, start: at, end: at + raw.length, shape: 'mixed' });
        }
      }
    }
    start = end + 1;
  }
}

/** Vocabulary hits of one text, in order, with absolute positions. */
type Hits = readonly KwHit[];

/** Index of the first hit starting at or after `pos`. */
function firstHitFrom(hits: Hits, pos: number): number {
  let lo = 0;
  let hi = hits.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((hits[mid]?.start ?? 0) < pos) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const PUNCT_ONLY_RE = /^[\s:#.\-–—№]*$/;

/** The nearest vocabulary word in [from, to) before the candidate at `to` decides. */
function judgeBefore(f: string, hits: Hits, from: number, to: number): Judgement {
  let claimed = false;
  for (let k = firstHitFrom(hits, to) - 1; k >= 0; k--) {
    const h = hits[k];
    if (!h || h.start < from) break;
    if (h.end > to || h.kind === Kw.Ignore) continue;
    const between = f.slice(h.end, to);
    const strongish = h.kind === Kw.Strong || h.kind === Kw.Weak;
    // "code for order 55120877: 318204": a word followed by another number labels that number.
    // A negative word's number is skipped; a code word before it still speaks for the candidate.
    if (NUMBER_BETWEEN_RE.test(between)) {
      if (!strongish) {
        claimed = true;
        continue;
      }
      if (!claimed || to - h.end > 40) return NONE;
    }
    const broken = SENTENCE_END_RE.test(between);
    if (!strongish && broken) continue;
    // "account nightowl_77: F7K2N": "account" labels the name after it, not the candidate.
    if (h.kind === Kw.Soft && between.length > 4 && !PUNCT_ONLY_RE.test(between)) continue;
    const p = k > 0 ? hits[k - 1] : undefined;
    const pNear = p !== undefined && p.start >= from;
    const gap = p ? h.start - p.end : Infinity;
    let kind: Judgement['kind'];
    switch (h.kind) {
      case Kw.Hard:
        kind = 'hard';
        break;
      case Kw.Neg:
        kind = 'neg';
        break;
      case Kw.Soft:
        kind = pNear && p.kind === Kw.Strong && gap <= 25 ? 'strong' : 'neg';
        break;
      case Kw.Num:
        kind = pNear && p.kind === Kw.Strong && gap <= 4 ? 'strong' : 'neg';
        break;
      case Kw.Weak:
        if (pNear && (p.kind === Kw.Neg || p.kind === Kw.Hard) && gap <= 3) kind = 'neg';
        else kind = pNear && p.kind === Kw.Strong && gap <= 20 ? 'strong' : 'weak';
        break;
      default:
        // "promo code", "booking code", "track it with code": the words before say what code it is.
        if (hardBefore(f, hits, k, from)) kind = 'hard';
        else kind = negBefore(hits, k, from) ? 'neg' : 'strong';
    }
    return { kind, dist: to - h.end, broken };
  }
  return NONE;
}

/** "booking code", "order confirmation code": a negative word right before, across other label words. */
function negBefore(hits: Hits, k: number, from: number): boolean {
  for (let j = k - 1; j >= 0; j--) {
    const p = hits[j];
    const q = hits[j + 1];
    if (!p || !q || p.start < from || q.start - p.end > 2) return false;
    if (p.kind === Kw.Neg) return true;
    // "order verification code" is still a verification code; "order confirmation code" is not.
    if (p.kind !== Kw.Weak) return false;
  }
  return false;
}

/** A promotion, postal or tracking word shortly before hit `k`, in the same sentence. */
function hardBefore(f: string, hits: Hits, k: number, from: number): boolean {
  const h = hits[k];
  if (!h) return false;
  for (let j = k - 1; j >= 0; j--) {
    const p = hits[j];
    if (!p || p.start < from || h.start - p.end > 20) return false;
    if (p.kind === Kw.Hard) return !SENTENCE_END_RE.test(f.slice(p.end, h.start));
  }
  return false;
}

/** The first vocabulary word in [from, to) after the candidate ending at `from`: "482913 is your code". */
function judgeAfter(f: string, hits: Hits, from: number, to: number): Judgement {
  for (let k = firstHitFrom(hits, from); k < hits.length; k++) {
    const h = hits[k];
    if (!h || h.end > to) break;
    if (h.kind === Kw.Ignore) continue;
    const n = hits[k + 1];
    const gap = n && n.end <= to ? n.start - h.end : Infinity;
    let kind: Judgement['kind'];
    switch (h.kind) {
      case Kw.Hard:
        kind = 'hard';
        break;
      case Kw.Neg:
      case Kw.Num:
        kind = 'neg';
        break;
      case Kw.Soft:
      case Kw.Weak:
        kind = n && n.kind === Kw.Strong && gap <= 20 ? 'strong' : h.kind === Kw.Soft ? 'neg' : 'weak';
        break;
      default:
        kind = n && n.kind === Kw.Hard && gap <= 3 ? 'hard' : 'strong';
    }
    return { kind, dist: h.start - from, broken: SENTENCE_END_RE.test(f.slice(from, h.start)) };
  }
  return NONE;
}

function hasHard(hits: Hits, from: number, to: number): boolean {
  for (let k = firstHitFrom(hits, from); k < hits.length; k++) {
    const h = hits[k];
    if (!h || h.start >= to) break;
    if (h.kind === Kw.Hard) return true;
  }
  return false;
}

function lineStartAt(t: string, i: number): number {
  return t.lastIndexOf('\n', i - 1) + 1;
}

function lineEndAt(t: string, i: number): number {
  const e = t.indexOf('\n', i);
  return e === -1 ? t.length : e;
}

function isBlank(t: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = t.charCodeAt(i);
    if (c !== 32 && c !== 9) return false;
  }
  return true;
}

/** Start of the nearest non-blank line above the line starting at `ls` (up to two blank lines between). */
function prevLineStart(t: string, ls: number): number {
  let end = ls - 1;
  for (let blanks = 0; end > 0 && blanks <= 2; blanks++) {
    const start = lineStartAt(t, end);
    if (!isBlank(t, start, end)) return start;
    end = start - 1;
  }
  return -1;
}

/** End of the nearest non-blank line below the line ending at `le`, or -1. */
function nextLineEnd(t: string, le: number): number {
  let start = le + 1;
  for (let blanks = 0; start < t.length && blanks <= 2; blanks++) {
    const end = lineEndAt(t, start);
    if (!isBlank(t, start, end)) return end;
    start = end + 1;
  }
  return -1;
}

const STRIP_CHARS = new Set([...' \t*_"\'“”„«»()[]<>:.!,|·•-–—']);

/** Where a candidate stands and which text around it is read. */
interface Placed {
  c: Candidate;
  ls: number;
  le: number;
  standalone: boolean;
  /** Range read before the candidate: [bs, c.start). */
  bs: number;
  /** Range read after it: [c.end, ae). */
  ae: number;
}

function place(t: string, c: Candidate): Placed {
  const ls = lineStartAt(t, c.start);
  const le = lineEndAt(t, c.end);
  let cs = c.start;
  while (cs > ls && t.charCodeAt(cs - 1) !== 9) cs--;
  let ce = c.end;
  while (ce < le && t.charCodeAt(ce) !== 9) ce++;
  // Alone in its cell or line, give or take quotes, brackets, bold markers and punctuation.
  while (cs < c.start && STRIP_CHARS.has(t[cs] ?? '')) cs++;
  while (ce > c.end && STRIP_CHARS.has(t[ce - 1] ?? '')) ce--;
  const standalone = cs === c.start && ce === c.end;
  let bs = Math.max(ls, c.start - 80);
  if (c.start - bs < 40 && ls > 0) {
    const p = prevLineStart(t, ls);
    if (p >= 0) {
      const pe = lineEndAt(t, p);
      bs = Math.max(p, pe - 120);
      if (standalone && pe - p < 40 && p > 0) {
        const p2 = prevLineStart(t, p);
        if (p2 >= 0) bs = Math.max(p2, lineEndAt(t, p2) - 120);
      }
    }
  }
  let ae = Math.min(le, c.end + 60);
  if (standalone || isBlank(t, c.end, ae)) {
    const n = nextLineEnd(t, le);
    if (n >= 0) ae = Math.min(n, lineStartAt(t, n) + 80);
  }
  return { c, ls, le, standalone, bs, ae };
}

/** Scans only the text around candidates: merged ranges, one regex pass each. */
function scanAround(f: string, placed: Placed[]): KwHit[] {
  const ranges = placed
    .map((p): [number, number] => (isNumeric(p.c.shape) ? [p.bs, p.ae] : [Math.min(p.bs, p.ls), Math.max(p.ae, p.le)]))
    .sort((a, b) => a[0] - b[0]);
  const hits: KwHit[] = [];
  let curStart = -1;
  let curEnd = -1;
  const flush = (): void => {
    if (curStart < 0) return;
    // A little slack so that words cut by the range edge are still seen whole.
    const from = Math.max(0, curStart - 16);
    for (const h of scanKeywords(f.slice(from, curEnd + 16))) hits.push({ kind: h.kind, start: h.start + from, end: h.end + from });
  };
  for (const [s, e] of ranges) {
    if (curStart >= 0 && s <= curEnd + 32) curEnd = Math.max(curEnd, e);
    else {
      flush();
      curStart = s;
      curEnd = e;
    }
  }
  flush();
  return hits;
}

interface Context {
  emphasized: Set<string> | undefined;
  subjectStrong: boolean;
  isSubject: boolean;
}

const BASE: Record<Shape, number> = { digits: 0, grouped: 1, spaced: 1, alnum: 0, ld: -1, letters: -1, mixed: -1 };
const BY_LENGTH = [0, 0, 0, 0, 1, 1, 2, 1, 1];

function scoreCandidate(t: string, f: string, hits: Hits, p: Placed, ctx: Context): number {
  const c = p.c;
  const numeric = isNumeric(c.shape);
  let score = BASE[c.shape] + (numeric ? (BY_LENGTH[c.value.length] ?? 0) : c.value.length >= 6 ? 1 : 0);
  if (c.shape === 'digits' && isYear(c.value)) score -= 5;
  if (c.value.length === 8 && isDate8(c.value)) score -= 3;
  if (!numeric && /^[0-9A-F]+$/.test(c.value)) score -= 1;

  const bj = judgeBefore(f, hits, p.bs, c.start);
  switch (bj.kind) {
    case 'hard':
      if (bj.dist <= 60) return -Infinity;
      break;
    case 'neg':
      if (bj.dist <= 40) return -Infinity;
      if (bj.dist <= 80) score -= 2;
      break;
    case 'strong':
      score += bj.dist <= 30 ? 6 : bj.dist <= 80 ? 4 : 2;
      if (bj.broken) score -= 2;
      break;
    case 'weak':
      score += bj.dist <= 20 && !bj.broken ? 2 : 1;
      break;
    default:
  }
  const aj = judgeAfter(f, hits, c.end, p.ae);
  switch (aj.kind) {
    case 'hard':
      if (aj.dist <= 15) return -Infinity;
      break;
    case 'neg':
      if (aj.dist <= 2) score -= 3;
      break;
    case 'strong':
      score += aj.dist <= 30 && !aj.broken ? 5 : 2;
      break;
    case 'weak':
      // "use 482913 to confirm your account"
      score += aj.dist <= 15 && !aj.broken ? 3 : 1;
      break;
    default:
  }
  if (!numeric) {
    // Letter codes need a code word right there, and no promotion on the line.
    const strongNear = (bj.kind === 'strong' && bj.dist <= 80) || (aj.kind === 'strong' && aj.dist <= 30);
    if (!strongNear || hasHard(hits, p.ls, p.le) || t.slice(p.ls, p.le).includes('%')) return -Infinity;
    // WORD25 is the shape of a promotion code: only taken when it stands on its own.
    if (c.shape === 'ld' && !p.standalone) return -Infinity;
    if ((c.shape === 'letters' || c.shape === 'mixed') && (!p.standalone || bj.kind !== 'strong')) return -Infinity;
  }
  if (p.standalone) score += 2;
  const bare = c.raw.replace(/\s/g, '');
  if (ctx.emphasized && (ctx.emphasized.has(bare) || ctx.emphasized.has(c.value))) score += 2;
  if (!ctx.isSubject && ctx.subjectStrong) score += p.standalone ? 2 : 1;
  return score;
}

/** The subject names a code ("Your verification code") without naming a promotion. */
function subjectNamesCode(hits: Hits): boolean {
  let strong = false;
  for (const h of hits) {
    if (h.kind === Kw.Hard) return false;
    if (h.kind === Kw.Strong) strong = true;
  }
  return strong;
}

interface Scored { value: string; score: number; order: number; count: number }

/** Candidates from the body are ordered after those of the subject. */
const TEXT_ORDER = 1000;

function rank(found: Map<string, Scored>, floor: number): { value: string; score: number; order: number }[] {
  return [...found.values()]
    .map((s) => ({ value: s.value, score: s.score + (s.count > 1 ? 1 : 0), order: s.order }))
    .filter((s) => s.score >= floor)
    .sort((a, b) => b.score - a.score || a.order - b.order);
}

function shapeKey(c: Candidate): string {
  return `${c.shape}:${c.raw.length}`;
}

/**
 * Shapes that occur as three or more different values each on a line of its own: a list of
 * recovery codes, tickets or line items, none of which is the one code.
 */
function listedShapes(placed: readonly Placed[]): Set<string> {
  const values = new Map<string, Set<string>>();
  for (const p of placed) {
    if (!p.standalone) continue;
    const key = shapeKey(p.c);
    let set = values.get(key);
    if (!set) values.set(key, (set = new Set()));
    set.add(p.c.value);
  }
  const listed = new Set<string>();
  for (const [key, set] of values) if (set.size >= 3) listed.add(key);
  return listed;
}

function collect(t: string, f: string, ctx: Context, into: Map<string, Scored>, orderBase: number, mixed: boolean, allHits?: Hits): void {
  const cands: Candidate[] = [];
  if (mixed) mixedCandidates(t, cands);
  else {
    digitCandidates(t, cands);
    alnumCandidates(t, cands);
  }
  if (cands.length === 0) return;
  if (cands.length > 300) cands.length = 300;
  const placed = cands.map((c) => place(t, c));
  const hits = allHits ?? scanAround(f, placed);
  const listed = listedShapes(placed);
  for (const p of placed) {
    if (listed.has(shapeKey(p.c))) continue;
    const s = scoreCandidate(t, f, hits, p, ctx);
    if (s === -Infinity) continue;
    const prev = into.get(p.c.value);
    if (prev) {
      prev.count++;
      if (s > prev.score) prev.score = s;
    } else {
      into.set(p.c.value, { value: p.c.value, score: s, order: p.c.start + orderBase, count: 1 });
    }
  }
}

/**
 * The code in a mail, exactly as it must be typed, or null. `body` is plain text (from the text
 * part or from htmlToText); `emphasized` lists the short bold/large texts of the HTML part.
 */
export function findCode(subject: string, body: string, emphasized?: Set<string>): string | null {
  return rankCodes(subject, body, emphasized)[0]?.value ?? null;
}

/** Every candidate that reached the threshold, best first, with its score (for tests and tuning). */
export function rankCodes(subject: string, body: string, emphasized?: Set<string>, floor = THRESHOLD): { value: string; score: number }[] {
  const subj = normalizeText(subject.slice(0, 400)).replace(/\n/g, ' ');
  const text = normalizeText(body.length > MAX_TEXT_CHARS ? body.slice(0, MAX_TEXT_CHARS) : body);
  const subjFolded = fold(subj);
  const textFolded = fold(text);
  const subjHits = scanKeywords(subjFolded);
  const subjectStrong = subjectNamesCode(subjHits);
  const found = new Map<string, Scored>();
  const subjCtx = { emphasized: undefined, subjectStrong, isSubject: true };
  const textCtx = { emphasized, subjectStrong, isSubject: false };
  collect(subj, subjFolded, subjCtx, found, 0, false, subjHits);
  collect(text, textFolded, textCtx, found, TEXT_ORDER, false);
  let ranked = rank(found, floor);
  // Lower-case codes are rare: looked for only when no other code qualified.
  if (!ranked.some((r) => r.score >= THRESHOLD)) {
    collect(text, textFolded, textCtx, found, TEXT_ORDER, true);
    ranked = rank(found, floor);
  }
  const best = ranked[0];
  if (!best) return [];
  // Meeting invitations, travel bookings and gift cards carry passcodes, PINs and "confirmation
  // codes" that are not one-time codes; only a very clear code survives in such a mail. The words
  // are looked for in the subject and around the best candidate.
  const at = best.order >= TEXT_ORDER ? best.order - TEXT_ORDER : 0;
  if (OTHER_CODES_TEST.test(subjFolded) || OTHER_CODES_TEST.test(textFolded.slice(Math.max(0, at - 1500), at + 1500))) {
    ranked = ranked.map((r) => ({ ...r, score: r.score - 4 })).filter((r) => r.score >= floor);
  }
  return ranked.map(({ value, score }) => ({ value, score }));
}
