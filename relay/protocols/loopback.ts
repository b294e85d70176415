// Whether a client connects from this machine. Mail protocols accept passwords in the clear only
// from loopback; everyone else must start TLS first.

/**
 * WISP_TREAT_LOOPBACK_AS_REMOTE=1 makes every client count as remote: only stricter, and what lets
 * tests check the rules for remote clients without sending traffic anywhere but loopback.
 */
const loopbackTrusted = process.env.WISP_TREAT_LOOPBACK_AS_REMOTE !== '1';

export function isLoopback(address: string | undefined): boolean {
  if (!address || !loopbackTrusted) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}
