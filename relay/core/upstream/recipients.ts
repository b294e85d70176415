// Who a message pulled from an upstream mailbox is for. An upstream catch-all keeps no envelope,
// so the header has to tell: the trace headers the delivering server adds (Delivered-To,
// X-Original-To, Envelope-To) first, and only when none of them names a served domain the
// visible ones (To, Cc, Resent-To, Resent-Cc). The order matters: a server that delivers one copy
// per recipient marks each copy with its own Delivered-To while every copy has the same To, so
// reading To then would store each copy once per recipient.

/** Headers the delivering server adds, naming the envelope recipient of this copy. */
export const ENVELOPE_HEADERS = ['delivered-to', 'x-original-to', 'envelope-to'];
/** Headers the sender wrote. */
export const VISIBLE_HEADERS = ['to', 'cc', 'resent-to', 'resent-cc'];

/** A header longer than this is not read further (a real one is far shorter). */
const MAX_HEADER_BLOCK = 256 * 1024;

/** The header block's fields, unfolded, with lowercase names, in order. */
export function headerFields(raw: Buffer): { name: string; value: string }[] {
  const window = raw.subarray(0, MAX_HEADER_BLOCK).toString('latin1');
  const end = /\r?\n\r?\n/.exec(window);
  const block = end ? window.slice(0, end.index) : window;
  const fields: { name: string; value: string }[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (/^[ \t]/.test(line)) {
      const last = fields.at(-1);
      if (last) last.value += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    fields.push({ name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1).trim() });
  }
  return fields;
}

const ADDRESS = /[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?/gi;

/** The addr-specs in an address-list header value, each once (lowercase unless `keepCase`). */
export function addressesOf(value: string, keepCase = false): string[] {
  const cleaned = value
    // encoded words and quoted display names may hold anything, an @ included
    .replace(/=\?[^?\s]+\?[bq]\?[^?\s]*\?=/gi, ' ')
    .replace(/"(?:[^"\\]|\\.)*"/g, ' ')
    // comments, innermost first
    .replace(/\((?:[^()\\]|\\.)*\)/g, ' ')
    .replace(/\((?:[^()\\]|\\.)*\)/g, ' ');
  const found = new Set<string>();
  for (const match of cleaned.matchAll(ADDRESS)) found.add(keepCase ? match[0] : match[0].toLowerCase());
  return [...found];
}

export interface HeaderAddresses {
  /** From Delivered-To, X-Original-To and Envelope-To. */
  envelope: string[];
  /** From To, Cc, Resent-To and Resent-Cc. */
  visible: string[];
}

export function headerAddresses(raw: Buffer): HeaderAddresses {
  const envelope = new Set<string>();
  const visible = new Set<string>();
  for (const { name, value } of headerFields(raw)) {
    const into = ENVELOPE_HEADERS.includes(name) ? envelope : VISIBLE_HEADERS.includes(name) ? visible : null;
    if (into) for (const address of addressesOf(value)) into.add(address);
  }
  return { envelope: [...envelope], visible: [...visible] };
}

/**
 * The addresses at one of `domains` that the message is for: those the envelope headers name when
 * any of them is at a served domain, else those the visible headers name.
 */
export function candidateRecipients(raw: Buffer, domains: readonly string[]): string[] {
  const served = new Set(domains.map((d) => d.toLowerCase()));
  const ours = (list: string[]) => list.filter((a) => served.has(a.slice(a.lastIndexOf('@') + 1)));
  const { envelope, visible } = headerAddresses(raw);
  const fromEnvelope = ours(envelope);
  return fromEnvelope.length > 0 ? fromEnvelope : ours(visible);
}

/** The envelope sender the delivering server recorded in Return-Path, or '' (none, or `<>`). */
export function returnPath(raw: Buffer): string {
  const field = headerFields(raw).find((f) => f.name === 'return-path');
  if (!field) return '';
  return addressesOf(field.value, true)[0] ?? '';
}
