// The registrable domain ("site") of a hostname or URL: accounts.google.com → google.com.
// One helper for relay and extension, so both name a site the same way.
import { getDomain, getHostname } from 'tldts';

/** Returns the registrable domain, the bare host for IPs and single-label hosts, or null. */
export function siteOf(hostOrUrl: string): string | null {
  const input = hostOrUrl.trim();
  if (!input) return null;
  // A bare hostname parses as a URL path; give it a scheme so both forms read alike.
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(input) ? input : `http://${input}`;
  const domain = getDomain(withScheme, { allowPrivateDomains: true });
  if (domain) return domain.toLowerCase();
  const host = getHostname(withScheme);
  return host ? host.toLowerCase().replace(/^\[|\]$/g, '') : null;
}
