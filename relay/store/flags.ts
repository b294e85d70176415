// IMAP flags as every Store backend keeps them: `\Seen` lives in the messages' `seen` column (the
// API's field), every other flag in one space-separated text. These helpers keep the order and
// spelling canonical, so two backends given the same updates return the same lists.
import type { FlagMode } from '../core/ports.ts';

/** The system flags a message can keep, in the order they are listed. */
export const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'] as const;

const SYSTEM_BY_LOWER = new Map<string, string>(SYSTEM_FLAGS.map((f) => [f.toLowerCase(), f]));

/**
 * Canonical form: known system flags in SYSTEM_FLAGS order with their standard spelling, then
 * keywords in first-seen order, each once (flags compare case-insensitively). `\Recent` and
 * unknown backslash flags are dropped: they cannot be stored.
 */
export function canonicalFlags(flags: Iterable<string>): string[] {
  const system = new Set<string>();
  const keywords = new Map<string, string>();
  for (const flag of flags) {
    if (!flag) continue;
    const lower = flag.toLowerCase();
    const known = SYSTEM_BY_LOWER.get(lower);
    if (known) system.add(known);
    else if (!flag.startsWith('\\') && !keywords.has(lower)) keywords.set(lower, flag);
  }
  return [...SYSTEM_FLAGS.filter((f) => system.has(f)), ...keywords.values()];
}

/** The flags after applying `mode` with `flags` to `current`. */
export function applyFlags(current: readonly string[], mode: FlagMode, flags: readonly string[]): string[] {
  if (mode === 'replace') return canonicalFlags(flags);
  if (mode === 'add') return canonicalFlags([...current, ...flags]);
  const drop = new Set(flags.map((f) => f.toLowerCase()));
  return canonicalFlags(current.filter((f) => !drop.has(f.toLowerCase())));
}

export function sameFlags(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((f, i) => f === b[i]);
}

/** Splits the stored form into (seen, the text of every other flag). */
export function splitStoredFlags(flags: readonly string[]): { seen: boolean; rest: string } {
  const canonical = canonicalFlags(flags);
  return { seen: canonical.includes('\\Seen'), rest: canonical.filter((f) => f !== '\\Seen').join(' ') };
}

/** The stored form back to a canonical list. */
export function joinStoredFlags(seen: boolean, rest: string | null): string[] {
  if (!rest) return seen ? ['\\Seen'] : [];
  const others = rest ? rest.split(' ') : [];
  return canonicalFlags(seen ? ['\\Seen', ...others] : others);
}
