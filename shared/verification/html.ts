// A small, tolerant HTML → text converter for mail bodies.
//
// One forward pass over the markup, no DOM. It keeps what a reader sees and where: block elements
// and table rows start new lines, table cells are separated by a tab, script/style/head are
// dropped, entities are decoded, and a table row whose cells each hold one character (the
// "one digit per box" layout of many code mails) becomes one token. Along the way it collects
// the anchors (href, visible text, the words just before them) and the short texts shown with
// emphasis (bold, headings, large or letter-spaced type), which the code and link finders use.

/** Markup beyond this is ignored: a verification mail says what matters long before it. */
export const MAX_HTML_CHARS = 200_000;

export interface HtmlLink {
  /** The href, entities decoded and trimmed. */
  href: string;
  /** The anchor's visible text plus the alt text of images inside it. */
  text: string;
  /** Up to ~160 characters of text shown before the anchor. */
  before: string;
  /** Up to ~80 characters shown after it ("<a>こちら</a>をクリックしてメールアドレスを確認"). */
  after: string;
  /** Styled as a button (background, padding, "btn" class). */
  button: boolean;
}

export interface ParsedHtml {
  text: string;
  links: HtmlLink[];
  /** Short emphasized texts with all whitespace removed. */
  emphasized: Set<string>;
}

/** Blocks set off by an empty line. */
const PARAGRAPH = new Set(['p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'table', 'ul', 'ol', 'blockquote', 'pre', 'hr', 'dl']);

const BLOCK = new Set([
  'p', 'div', 'table', 'tbody', 'thead', 'tfoot', 'ul', 'ol', 'li', 'dl', 'dt', 'dd', 'h1', 'h2', 'h3', 'h4',
  'h5', 'h6', 'blockquote', 'pre', 'hr', 'section', 'article', 'header', 'footer', 'main', 'nav', 'aside',
  'center', 'form', 'fieldset', 'address', 'figure', 'figcaption', 'caption', 'details', 'summary', 'body',
  'html', 'option', 'legend',
]);

/** Elements whose content is never shown, with the regex that finds their end. */
const SKIP = new Map<string, RegExp>();
for (const name of ['script', 'style', 'title', 'noscript', 'template', 'svg', 'xml', 'textarea', 'object']) {
  SKIP.set(name, new RegExp(`</${name}\\s*>`, 'gi'));
}

const EMPHASIS_TAGS = new Set(['b', 'strong', 'h1', 'h2', 'h3', 'big']);

const NAMED_LIST: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', copy: '©', reg: '®', trade: '™',
  euro: '€', pound: '£', yen: '¥', cent: '¢', sect: '§', deg: '°', plusmn: '±', times: '×', divide: '÷',
  middot: '·', bull: '•', hellip: '…', ndash: '–', mdash: '—', lsquo: '‘', rsquo: '’', sbquo: '‚',
  ldquo: '“', rdquo: '”', bdquo: '„', laquo: '«', raquo: '»', lsaquo: '‹', rsaquo: '›', iexcl: '¡',
  iquest: '¿', shy: '\u00ad', zwnj: '\u200c', zwj: '\u200d', lrm: '\u200e', rlm: '\u200f', thinsp: '\u2009',
  ensp: '\u2002', emsp: '\u2003', hairsp: '\u200a', numsp: '\u2007', para: '¶', dagger: '†', larr: '←',
  rarr: '→', uarr: '↑', darr: '↓', check: '✓', star: '☆', hearts: '♥', auml: 'ä', ouml: 'ö', uuml: 'ü',
  Auml: 'Ä', Ouml: 'Ö', Uuml: 'Ü', szlig: 'ß', agrave: 'à', aacute: 'á', acirc: 'â', atilde: 'ã',
  aring: 'å', aelig: 'æ', ccedil: 'ç', egrave: 'è', eacute: 'é', ecirc: 'ê', euml: 'ë', igrave: 'ì',
  iacute: 'í', icirc: 'î', iuml: 'ï', ntilde: 'ñ', ograve: 'ò', oacute: 'ó', ocirc: 'ô', otilde: 'õ',
  oslash: 'ø', ugrave: 'ù', uacute: 'ú', ucirc: 'û', yacute: 'ý', yuml: 'ÿ', Agrave: 'À', Aacute: 'Á',
  Acirc: 'Â', Atilde: 'Ã', Aring: 'Å', AElig: 'Æ', Ccedil: 'Ç', Egrave: 'È', Eacute: 'É', Ecirc: 'Ê',
  Euml: 'Ë', Igrave: 'Ì', Iacute: 'Í', Icirc: 'Î', Iuml: 'Ï', Ntilde: 'Ñ', Ograve: 'Ò', Oacute: 'Ó',
  Ocirc: 'Ô', Otilde: 'Õ', Oslash: 'Ø', Ugrave: 'Ù', Uacute: 'Ú', Ucirc: 'Û', Yacute: 'Ý', oelig: 'œ',
  OElig: 'Œ', scaron: 'š', Scaron: 'Š', zcaron: 'ž', Zcaron: 'Ž', ordf: 'ª', ordm: 'º', frac12: '½',
  frac14: '¼', frac34: '¾', sup2: '²', sup3: '³', micro: 'µ', not: '¬', macr: '¯', acute: '´',
};

/** A Map, so that "&constructor;" finds nothing. */
const NAMED = new Map(Object.entries(NAMED_LIST));

/** Entities a sloppy sender writes without the semicolon. */
const LEGACY = new Set(['amp', 'lt', 'gt', 'quot', 'nbsp', 'copy', 'reg']);

function isAlnumCode(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** The character a numeric reference stands for. */
function fromCodePoint(cp: number): string {
  if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return '\ufffd';
  // Windows-1252 code points written as numeric references (&#150; for a dash).
  if (cp >= 0x80 && cp <= 0x9f) return String.fromCodePoint(CP1252[cp - 0x80] ?? cp);
  return String.fromCodePoint(cp);
}

/** Decodes numeric and common named character references; unknown ones stay as written. */
export function decodeEntities(s: string): string {
  let amp = s.indexOf('&');
  if (amp === -1) return s;
  let out = '';
  let last = 0;
  while (amp !== -1) {
    let j = amp + 1;
    let value: string | undefined;
    if (s.charCodeAt(j) === 35 /* # */) {
      j++;
      const hex = s.charCodeAt(j) === 120 || s.charCodeAt(j) === 88;
      if (hex) j++;
      const from = j;
      while (j < s.length && j - from < 7 && (hex ? /[0-9a-fA-F]/.test(s.charAt(j)) : s.charCodeAt(j) >= 48 && s.charCodeAt(j) <= 57)) j++;
      if (j > from) {
        value = fromCodePoint(parseInt(s.slice(from, j), hex ? 16 : 10));
        if (s.charCodeAt(j) === 59) j++;
      }
    } else {
      const from = j;
      while (j < s.length && j - from < 32 && isAlnumCode(s.charCodeAt(j))) j++;
      const name = s.slice(from, j);
      const named = j > from ? NAMED.get(name) : undefined;
      if (named !== undefined) {
        if (s.charCodeAt(j) === 59) {
          value = named;
          j++;
        } else if (LEGACY.has(name) && s.charCodeAt(j) !== 61) {
          // Old entities may lack the semicolon; "&copy=1" in a query string is not one.
          value = named;
        }
      }
    }
    if (value !== undefined) {
      out += s.slice(last, amp) + value;
      last = j;
    }
    amp = s.indexOf('&', value !== undefined ? j : amp + 1);
  }
  return out + s.slice(last);
}

const CP1252 = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d,
  0x17d, 0x8f, 0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a,
  0x153, 0x9d, 0x17e, 0x178,
];

const HREF_RE = /\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/i;
const ALT_RE = /\balt\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/i;
const BUTTON_RE = /btn|button|background|border-radius|padding/i;
const FONT_SIZE_RE = /font-size\s*:\s*(\d+(?:\.\d+)?)\s*(px|pt|em|rem|%)?/i;
const STRONG_STYLE_RE = /letter-spacing\s*:\s*(?!0|normal|-)|font-weight\s*:\s*(?:bold|bolder|[6-9]00)/i;
const FONT_TAG_SIZE_RE = /\bsize\s*=\s*["']?\+?[5-7]/i;
const CODE_CLASS_RE = /\b(?:class|id)\s*=\s*["']?[^"'>]*(?:code|otp|pin|token|verif)/i;
const WS_RE = /[ \t\n\r\f\v]+/g;
const INVISIBLE_RE = /[\u200b-\u200d\u2060\ufeff\u00ad\u200e\u200f]|\u034f/g;
const INVISIBLE_TEST_RE = /[\u200b-\u200d\u2060\ufeff\u00ad\u200e\u200f]|\u034f/;
const SINGLE_CHAR_RE = /^[0-9A-Za-z]$/;

const NON_WS_RE = /[^ \t\n\r\f\v]/;
const COLLAPSE_RE = /[\t\n\r\f\v]| {2}/;

/** 0: nothing to collapse; 1: whitespace to collapse; 2: whitespace only. */
function whitespaceKind(t: string): 0 | 1 | 2 {
  if (!NON_WS_RE.test(t)) return 2;
  return COLLAPSE_RE.test(t) ? 1 : 0;
}

function attr(attrs: string, re: RegExp): string | null {
  const m = re.exec(attrs);
  if (!m) return null;
  return m[1] ?? m[2] ?? m[3] ?? null;
}

/** Anything in a tag's attributes that could make it emphasized; most tags fail this one test. */
const EMPHASIS_HINT_RE = /font-size|letter-spacing|font-weight|class|\bid\s*=|\bsize\s*=/i;

function isEmphasized(name: string, attrs: string): boolean {
  if (EMPHASIS_TAGS.has(name)) return true;
  if (attrs.length < 6 || !EMPHASIS_HINT_RE.test(attrs)) return false;
  if (name === 'font' && FONT_TAG_SIZE_RE.test(attrs)) return true;
  const size = FONT_SIZE_RE.exec(attrs);
  if (size) {
    const n = parseFloat(size[1] ?? '0');
    const unit = (size[2] ?? 'px').toLowerCase();
    if ((unit === 'px' && n >= 20) || (unit === 'pt' && n >= 15) || ((unit === 'em' || unit === 'rem') && n >= 1.4) || (unit === '%' && n >= 140)) return true;
  }
  return STRONG_STYLE_RE.test(attrs) || CODE_CLASS_RE.test(attrs);
}

interface Open { tag: string; start: number; startLen: number; cells: number }

interface Anchor { href: string; start: number; startLen: number; alt: string; button: boolean }

class Builder {
  out: string[] = [];
  len = 0;
  /** Newlines at the end of the output (spaces after them ignored). */
  trailing = 1;
  push(s: string): void {
    if (s === ' ' && this.trailing > 0) return;
    this.out.push(s);
    this.len += s.length;
    let k = s.length;
    while (k > 0 && s.charCodeAt(k - 1) === 10) k--;
    if (k === 0) this.trailing += s.length;
    else if (k < s.length) this.trailing = s.length - k;
    else {
      // Text after the last newline: only spaces and tabs leave the line count as it was.
      for (let i = k - 1; i >= 0; i--) {
        const c = s.charCodeAt(i);
        if (c === 10) break;
        if (c !== 32 && c !== 9) {
          this.trailing = 0;
          break;
        }
      }
    }
  }
  /** Ends the current line; with `blank`, leaves an empty line after it. */
  breakLine(blank: boolean): void {
    const want = blank ? 2 : 1;
    if (this.trailing < want) this.push('\n'.repeat(want - this.trailing));
  }
  /** The text written since chunk `start`. */
  since(start: number): string {
    return this.out.slice(start).join('');
  }
  truncate(start: number, startLen: number): void {
    this.out.length = start;
    this.len = startLen;
    this.trailing = 1;
  }
  /** Roughly the first `chars` characters written from chunk `start` on. */
  head(start: number, chars: number): string {
    let s = '';
    for (let i = start; i < this.out.length && s.length < chars; i++) s += this.out[i] ?? '';
    return s.length > chars ? s.slice(0, chars) : s;
  }
  /** Roughly the last `chars` characters written before chunk `end`. */
  tail(end: number, chars: number): string {
    let s = '';
    for (let i = end - 1; i >= 0 && s.length < chars; i--) s = (this.out[i] ?? '') + s;
    return s.length > chars ? s.slice(s.length - chars) : s;
  }
}

/** Turns a finished row of one-character cells into one token. */
function closeRow(b: Builder, row: Open): void {
  const size = b.len - row.startLen;
  if (row.cells < 4 || size > 120 || size < 4) return;
  const cells = b.since(row.start).split('\t');
  const chars: string[] = [];
  for (const cell of cells) {
    const c = cell.replace(INVISIBLE_RE, '').replace(/[\s\u00a0]+/g, '');
    if (c === '') continue;
    if (!SINGLE_CHAR_RE.test(c)) return;
    chars.push(c);
  }
  if (chars.length < 4 || chars.length > 10) return;
  b.truncate(row.start, row.startLen);
  b.push(chars.join(''));
  b.breakLine(false);
}

function closeEmphasis(b: Builder, e: Open, into: Set<string> | null): void {
  if (!into) return;
  const size = b.len - e.startLen;
  if (size === 0 || size > 48) return;
  const t = b.since(e.start).replace(INVISIBLE_RE, '').replace(/[\s\u00a0]+/g, '');
  if (t) into.add(t);
}

const SINGLE_CHAR_LINE_RE = /^[0-9A-Za-z]$/m;
const SPACED_CHARS_LINE_RE = /^(?:[0-9A-Z] ){3,9}[0-9A-Z]$/gm;

/** Collapses spaces, drops empty cells and lines, trims, joins one-character boxes. */
function normalizeLines(raw: string): string {
  let t = raw;
  if (INVISIBLE_TEST_RE.test(t)) t = t.replace(INVISIBLE_RE, '');
  if (t.includes('\u00a0')) t = t.replace(/\u00a0/g, ' ');
  t = t
    .replace(/ {2,}/g, ' ')
    .replace(/ ?\t[\t ]*/g, '\t')
    .replace(/[\t ]+\n/g, '\n')
    .replace(/\n[\t ]+/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  if (t.includes(' ')) t = t.replace(SPACED_CHARS_LINE_RE, (m) => m.replace(/ /g, ''));
  if (SINGLE_CHAR_LINE_RE.test(t)) t = joinSingleCharLines(t.split('\n')).join('\n');
  return t;
}

/** Lines of one character each (one div per digit box) become one line. */
function joinSingleCharLines(lines: string[]): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] ?? '';
    if (SINGLE_CHAR_RE.test(line)) {
      const chars: string[] = [];
      let j = i;
      while (j < lines.length) {
        const l = lines[j] ?? '';
        if (SINGLE_CHAR_RE.test(l)) chars.push(l);
        else if (l !== '') break;
        j++;
      }
      if (chars.length >= 4 && chars.length <= 10) {
        if (out.length && out[out.length - 1] !== '') out.push('');
        out.push(chars.join(''));
        i = j;
        continue;
      }
    }
    out.push(line);
    i++;
  }
  return out;
}

/**
 * Parses mail HTML into visible text, anchors and emphasized snippets. With `collect` false only
 * the text is produced.
 */
export function parseHtml(input: string, collect = true): ParsedHtml {
  const html = input.length > MAX_HTML_CHARS ? input.slice(0, MAX_HTML_CHARS) : input;
  const n = html.length;
  const b = new Builder();
  const links: HtmlLink[] = [];
  /** Where the text after each link starts (chunk index). */
  const linkEnds: number[] = [];
  const emphasized = new Set<string>();
  const stack: Open[] = [];
  let anchor: Anchor | null = null;
  let inHead = false;
  let pre = 0;
  let i = 0;
  let dq = 0;
  let sq = 0;

  const finishAnchor = (): void => {
    if (!anchor) return;
    const a = anchor;
    anchor = null;
    if (!collect || !a.href || links.length >= 300) return;
    const size = b.len - a.startLen;
    let text = size > 400 ? b.since(a.start).slice(0, 400) : b.since(a.start);
    text = `${text} ${a.alt}`.replace(WS_RE, ' ').trim();
    links.push({ href: a.href, text, before: b.tail(a.start, 160), after: '', button: a.button });
    linkEnds.push(b.out.length);
  };

  const popTo = (index: number): void => {
    while (stack.length > index) {
      const e = stack.pop();
      if (!e) break;
      if (e.tag === 'tr') closeRow(b, e);
      else if (e.tag !== 'table') closeEmphasis(b, e, collect ? emphasized : null);
    }
  };

  /** Index of the nearest open `tag`, not looking past an open table unless it is the table. */
  const findOpen = (tag: string): number => {
    for (let k = stack.length - 1; k >= 0 && k >= stack.length - 24; k--) {
      const t = stack[k]?.tag;
      if (t === tag) return k;
      if (t === 'table') return -1;
    }
    return -1;
  };

  while (i < n) {
    const lt = html.indexOf('<', i);
    const stop = lt === -1 ? n : lt;
    if (stop > i && !inHead) {
      const t = html.slice(i, stop);
      if (pre > 0) b.push(decodeEntities(t.replace(/\r\n?/g, '\n')));
      else {
        const ws = whitespaceKind(t);
        if (ws === 2) b.push(' ');
        else b.push(decodeEntities(ws === 1 ? t.replace(WS_RE, ' ') : t));
      }
    }
    if (lt === -1) break;
    i = lt;
    const c1 = html.charCodeAt(i + 1);
    if (c1 === 33 /* ! */) {
      if (html.startsWith('<!--', i)) {
        const e = html.indexOf('-->', i + 4);
        i = e === -1 ? n : e + 3;
      } else {
        const e = html.indexOf('>', i + 2);
        i = e === -1 ? n : e + 1;
      }
      continue;
    }
    if (c1 === 63 /* ? */) {
      const e = html.indexOf('>', i + 2);
      i = e === -1 ? n : e + 1;
      continue;
    }
    const closing = c1 === 47; /* / */
    const nameStart = i + (closing ? 2 : 1);
    let k = nameStart;
    let upper = false;
    while (k < n) {
      const c = html.charCodeAt(k);
      if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57 && k > nameStart) || c === 58 || c === 45) k++;
      else if (c >= 65 && c <= 90) {
        upper = true;
        k++;
      } else break;
    }
    if (k === nameStart) {
      // A literal "<" in text.
      if (!inHead) b.push('<');
      i++;
      continue;
    }
    const name = upper ? html.slice(nameStart, k).toLowerCase() : html.slice(nameStart, k);
    // End of tag, skipping ">" inside quoted attribute values. The next quote of each kind is
    // remembered across tags, so the whole document costs one pass however many tags it has.
    let e = k;
    for (;;) {
      const gt = html.indexOf('>', e);
      if (gt === -1) {
        e = n;
        break;
      }
      if (dq !== -1 && dq < e) dq = html.indexOf('"', e);
      if (sq !== -1 && sq < e) sq = html.indexOf("'", e);
      const q = dq !== -1 && dq < gt && (sq === -1 || dq < sq) ? dq : sq !== -1 && sq < gt ? sq : -1;
      if (q === -1) {
        e = gt;
        break;
      }
      let before = q - 1;
      while (before > e && html.charCodeAt(before) <= 32) before--;
      if (html.charCodeAt(before) !== 61 /* = */) {
        e = q + 1;
        continue;
      }
      const close = html.indexOf(html.charAt(q), q + 1);
      if (close === -1 || close - q > 8000) {
        // Unbalanced quote: take the next ">".
        e = gt;
        break;
      }
      e = close + 1;
    }
    const attrs = html.slice(k, e);
    i = e + 1;

    if (closing) {
      if (name === 'head') {
        inHead = false;
        continue;
      }
      if (name === 'a') {
        const at = findOpen('a');
        if (at >= 0) popTo(at);
        finishAnchor();
        continue;
      }
      if (name === 'tr') {
        const at = findOpen('tr');
        if (at >= 0) popTo(at);
        b.breakLine(false);
        continue;
      }
      if (name === 'table') {
        const at = findOpen('table');
        if (at >= 0) popTo(at);
        b.breakLine(true);
        continue;
      }
      if (name === 'pre' && pre > 0) pre--;
      const at = findOpen(name);
      if (at >= 0) popTo(at);
      if (name === 'td' || name === 'th') b.push('\t');
      else if (BLOCK.has(name)) b.breakLine(PARAGRAPH.has(name));
      continue;
    }

    // Opening (or self-closing) tag.
    if (name === 'head') {
      inHead = true;
      continue;
    }
    if (name === 'body') {
      inHead = false;
      continue;
    }
    const first = name.charCodeAt(0);
    // Only names starting with s, t, n, x or o can be skipped elements; spares a Map lookup per tag.
    const skip = first === 115 || first === 116 || first === 110 || first === 120 || first === 111 ? SKIP.get(name) : undefined;
    if (skip) {
      if (attrs.endsWith('/')) continue;
      skip.lastIndex = i;
      const m = skip.exec(html);
      i = m ? m.index + m[0].length : n;
      continue;
    }
    if (inHead) continue;
    switch (name) {
      case 'br':
        b.push('\n');
        continue;
      case 'td':
      case 'th': {
        b.push('\t');
        const row = findOpen('tr');
        if (row >= 0) {
          const r = stack[row];
          if (r) r.cells++;
        }
        break;
      }
      case 'tr': {
        const top = stack[stack.length - 1];
        if (top && top.tag === 'tr') popTo(stack.length - 1);
        b.breakLine(false);
        stack.push({ tag: 'tr', start: b.out.length, startLen: b.len, cells: 0 });
        break;
      }
      case 'table':
        b.breakLine(true);
        stack.push({ tag: 'table', start: b.out.length, startLen: b.len, cells: 0 });
        break;
      case 'a': {
        finishAnchor();
        const href = attr(attrs, HREF_RE);
        anchor = {
          href: href ? decodeEntities(href).trim() : '',
          start: b.out.length,
          startLen: b.len,
          alt: '',
          button: BUTTON_RE.test(attrs),
        };
        break;
      }
      case 'img':
        if (anchor) {
          const alt = attr(attrs, ALT_RE);
          if (alt) anchor.alt += ` ${decodeEntities(alt)}`;
        }
        continue;
      case 'pre':
        pre++;
        break;
      default:
        if (BLOCK.has(name)) b.breakLine(PARAGRAPH.has(name));
    }
    if (collect && name !== 'tr' && name !== 'table' && !attrs.endsWith('/') && isEmphasized(name, attrs)) {
      if (stack.length < 256) stack.push({ tag: name, start: b.out.length, startLen: b.len, cells: 0 });
    }
  }
  finishAnchor();
  popTo(0);
  links.forEach((l, k) => {
    const end = linkEnds[k] ?? b.out.length;
    if (end <= b.out.length) l.after = b.head(end, 80).replace(WS_RE, ' ');
  });
  return { text: normalizeLines(b.out.join('')), links, emphasized };
}

/** Visible text of an HTML mail body: rows and blocks on their own lines, cells tab-separated. */
export function htmlToText(html: string): string {
  return parseHtml(html, false).text;
}
