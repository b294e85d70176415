import { describe, expect, it } from 'vitest';
import { sanitizeMailHtml } from './sanitize.ts';

describe('sanitizeMailHtml', () => {
  it('drops scripts, handlers, forms and frames', () => {
    const out = sanitizeMailHtml(
      '<p onclick="x()">Hi<script>alert(1)</script></p><img src="cid:logo" onerror="steal()"><form action="https://evil.test"><input name="pw"></form><iframe src="https://evil.test"></iframe>',
    );
    expect(out).not.toMatch(/script|onclick|onerror|<form|<input|iframe|alert/i);
    expect(out).toContain('<p>Hi</p>');
    expect(out).toContain('src="cid:logo"');
  });

  it('holds back remote images until asked', () => {
    const out = sanitizeMailHtml('<img src="https://tracker.test/p.gif" alt="x"><img src="//cdn.test/a.png">');
    expect(out).not.toMatch(/ src=/);
    expect(out).toContain('data-remote-src="https://tracker.test/p.gif"');
    expect(out).toContain('data-remote-src="//cdn.test/a.png"');
  });

  it('removes styles that load anything, keeps the rest', () => {
    const out = sanitizeMailHtml('<div style="background:url(https://t.test/x)">a</div><td style="color: red">b</td><style>@import "x"</style>');
    expect(out).not.toMatch(/url\(|@import/);
    expect(out).toMatch(/style="color: ?red"/);
    for (const style of ['background-image:image-set("https://t.test/a" 1x)', "list-style-image:-webkit-image-set('https://t.test/b' 1x)", 'background:U\\72l(https://t.test/c)']) {
      expect(sanitizeMailHtml(`<p style="${style.replace(/"/g, '&quot;')}">x</p>`)).toBe('<p>x</p>');
    }
  });

  it('keeps links but opens them safely, and refuses javascript: URLs', () => {
    const out = sanitizeMailHtml('<a href="https://site.test/verify?t=1&amp;u=2">Verify</a><a href="javascript:alert(1)">x</a>');
    expect(out).toContain('href="https://site.test/verify?t=1&amp;u=2"');
    expect(out).toContain('rel="noopener noreferrer nofollow"');
    expect(out).not.toContain('javascript:');
  });
});
