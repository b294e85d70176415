import { describe, expect, it } from 'vitest';
import { siteOf } from './site.ts';

describe('siteOf', () => {
  it('gives the registrable domain of URLs and hostnames', () => {
    expect(siteOf('https://accounts.google.com/x')).toBe('google.com');
    expect(siteOf('accounts.google.com')).toBe('google.com');
    expect(siteOf('WWW.Example.CO.UK')).toBe('example.co.uk');
    expect(siteOf('https://shop.example.test:8443/a?b')).toBe('example.test');
  });

  it('keeps private suffixes apart, so two users of one host are two sites', () => {
    expect(siteOf('alice.github.io')).toBe('alice.github.io');
  });

  it('falls back to the host for IPs and single labels, and refuses junk', () => {
    expect(siteOf('http://127.0.0.1:8080/')).toBe('127.0.0.1');
    expect(siteOf('localhost')).toBe('localhost');
    expect(siteOf('')).toBeNull();
    expect(siteOf('not a url')).toBeNull();
  });
});
