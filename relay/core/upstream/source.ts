// One `--upstream imap[s]://user:password@host[:port]/MAILBOX` turned into connection settings.
// The password stays here: what is logged and what keys the saved progress is `label`, which
// leaves it out.

export interface UpstreamSource {
  /** The URL without its password (and without options): names the mailbox in logs and the Store. */
  label: string;
  host: string;
  port: number;
  /** true: TLS from the first byte (imaps); false: STARTTLS whenever the server offers it (imap). */
  secure: boolean;
  user: string;
  password: string;
  /** The mailbox to watch (default INBOX). */
  mailbox: string;
  /** Accept a certificate that does not verify (self-signed): only when asked for explicitly. */
  insecureTls: boolean;
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);

function decode(part: string, what: string, label: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new Error(`${label}: the ${what} is not valid URL encoding`);
  }
}

/**
 * Reads an upstream URL (already known to be imap: or imaps: with a host). `?insecure=1` in the URL,
 * or `insecureTls` for every upstream (WISP_UPSTREAM_INSECURE_TLS=1), accepts unverified
 * certificates. Errors name the URL without its password.
 */
export function parseUpstream(url: URL, options: { insecureTls?: boolean } = {}): UpstreamSource {
  const secure = url.protocol === 'imaps:';
  if (!secure && url.protocol !== 'imap:') throw new Error(`"${url.protocol}" is not imap: or imaps:`);
  const port = url.port ? Number(url.port) : secure ? 993 : 143;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const rawMailbox = url.pathname.replace(/^\//, '');
  const scheme = secure ? 'imaps' : 'imap';
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const label = `${scheme}://${url.username ? `${url.username}@` : ''}${hostPart}:${port}/${rawMailbox || 'INBOX'}`;
  if (!host) throw new Error(`${label}: no host`);
  if (!url.username) throw new Error(`${label}: no user name (imap[s]://user:password@host/MAILBOX)`);
  if (!url.password) throw new Error(`${label}: no password (imap[s]://user:password@host/MAILBOX)`);
  for (const key of url.searchParams.keys()) {
    if (key !== 'insecure') throw new Error(`${label}: unknown option "${key}" (only insecure=1 is known)`);
  }
  const insecureParam = url.searchParams.get('insecure');
  return {
    label,
    host,
    port,
    secure,
    user: decode(url.username, 'user name', label),
    password: decode(url.password, 'password', label),
    mailbox: decode(rawMailbox, 'mailbox name', label) || 'INBOX',
    insecureTls: Boolean(options.insecureTls) || (insecureParam !== null && TRUE.has(insecureParam.toLowerCase())),
  };
}
