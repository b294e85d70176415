// Parsers for the human-written quantities in options: durations, sizes, rates.
// Each returns a value or throws an Error whose message is one sentence for the user.

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** `10m`, `1h`, `7d`, `90` (seconds) → seconds; `never` → null. */
export function parseDuration(text: string): number | null {
  const value = text.trim().toLowerCase();
  if (value === 'never') return null;
  const match = /^(\d+(?:\.\d+)?)\s*([smhdw]?)$/.exec(value);
  if (!match) throw new Error(`"${text}" is not a duration (use e.g. 30s, 10m, 1h, 7d or never)`);
  const seconds = Number(match[1]) * (DURATION_UNITS[match[2] || 's'] ?? 1);
  if (!(seconds > 0)) throw new Error(`"${text}" is not a positive duration`);
  return Math.round(seconds);
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };

/** `25MB`, `512KB`, `1048576` → bytes. */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/.exec(text.trim().toLowerCase());
  const unit = match ? SIZE_UNITS[match[2] ?? ''] : undefined;
  if (!match || unit === undefined) throw new Error(`"${text}" is not a size (use e.g. 25MB, 512KB or a number of bytes)`);
  const bytes = Math.floor(Number(match[1]) * unit);
  if (bytes < 1) throw new Error(`"${text}" is not a positive size`);
  return bytes;
}

export interface Rate {
  count: number;
  windowSeconds: number;
}

/** `100/1h` → at most 100 in any hour. */
export function parseRate(text: string): Rate {
  const [count, window] = text.split('/');
  if (!count || !window || !/^\d+$/.test(count.trim())) {
    throw new Error(`"${text}" is not a rate (use COUNT/DURATION, e.g. 100/1h)`);
  }
  const windowSeconds = parseDuration(window);
  if (windowSeconds === null) throw new Error(`"${text}" needs a finite duration after the slash`);
  return { count: Number(count.trim()), windowSeconds };
}

/** `off` → null; `0` → any free port; otherwise 1–65535. */
export function parsePort(text: string): number | null {
  const value = text.trim().toLowerCase();
  if (value === 'off') return null;
  if (!/^\d+$/.test(value) || Number(value) > 65_535) {
    throw new Error(`"${text}" is not a port (use a number from 0 to 65535, or off)`);
  }
  return Number(value);
}
