// @vitest-environment happy-dom
// Filling so that framework-controlled forms see the value, and one-time codes into the right
// field or row of boxes.
import { beforeAll, describe, expect, it } from 'vitest';
import { findOtpTarget, otpScore } from '../../extension/content/detect.ts';
import { fillOtp, setValue } from '../../extension/content/fill.ts';
import { $, installLayout, loadHtml, loadPage, reactLike } from './dom.ts';

beforeAll(installLayout);

describe('setValue', () => {
  it('reaches a React-style controlled input, where a plain assignment would be swallowed', () => {
    loadHtml('<form><input id="a"><input id="b"></form>');
    const plain = reactLike($('#a'));
    $('#a').value = 'assigned@example.com';
    $('#a').dispatchEvent(new Event('input', { bubbles: true }));
    expect(plain.seen).toEqual([]); // what a naive fill gets: nothing

    const tracked = reactLike($('#b'));
    setValue($('#b'), 'x7k2mq@wisp.localhost');
    expect(tracked.seen).toEqual(['x7k2mq@wisp.localhost']);
    expect($('#b').value).toBe('x7k2mq@wisp.localhost');
  });

  it('fires input (bubbling, composed, an InputEvent) and change, as Vue and Angular listen for', () => {
    loadHtml('<form><input id="a"></form>');
    const events: string[] = [];
    document.addEventListener('input', (e) => events.push(`${e.type}:${e instanceof InputEvent}:${e.bubbles}:${e.composed}`));
    document.addEventListener('change', (e) => events.push(`${e.type}:${e.bubbles}`));
    setValue($('#a'), 'v');
    expect(events).toEqual(['input:true:true:true', 'change:true']);
  });

  it('works on a textarea too', () => {
    loadHtml('<textarea id="t"></textarea>');
    const t = document.getElementById('t') as HTMLTextAreaElement;
    setValue(t, 'hello');
    expect(t.value).toBe('hello');
  });
});

describe('one-time-code fields', () => {
  it.each([
    ['autocomplete', '<input id="c" autocomplete="one-time-code">'],
    ['English label', '<label for="c">Verification code</label><input id="c" inputmode="numeric">'],
    ['placeholder', '<input id="c" placeholder="Enter the 6-digit code">'],
    ['name otp', '<input id="c" name="otp">'],
    ['German', '<label for="c">Bestätigungscode</label><input id="c">'],
    ['French', '<label for="c">Code de vérification</label><input id="c">'],
    ['Spanish', '<label for="c">Código de verificación</label><input id="c">'],
    ['Italian', '<label for="c">Codice di verifica</label><input id="c">'],
    ['Dutch', '<label for="c">Verificatiecode</label><input id="c">'],
    ['Polish', '<label for="c">Kod weryfikacyjny</label><input id="c">'],
    ['Russian', '<label for="c">Код подтверждения</label><input id="c">'],
    ['Turkish', '<label for="c">Doğrulama kodu</label><input id="c">'],
    ['Japanese', '<label for="c">認証コード</label><input id="c">'],
    ['Chinese', '<label for="c">验证码</label><input id="c">'],
    ['Korean', '<label for="c">인증번호</label><input id="c">'],
    ['Arabic', '<label for="c">رمز التحقق</label><input id="c">'],
    ['type tel', '<label for="c">Security code</label><input id="c" type="tel">'],
  ])('finds the %s field', (_name, field) => {
    loadHtml(`<form><input name="email" type="email">${field}<button>Verify</button></form>`);
    const target = findOtpTarget(document, 6);
    expect(target).toEqual({ kind: 'field', field: $('#c') });
  });

  it.each([
    ['a promo code', '<label for="c">Promo code</label><input id="c">'],
    ['a postal code', '<label for="c">Postal code</label><input id="c">'],
    ['a coupon (German)', '<label for="c">Gutscheincode</label><input id="c">'],
    ['a country code', '<label for="c">Country code</label><input id="c">'],
    ['a captcha', '<label for="c">Enter the code shown in the image (captcha)</label><input id="c">'],
    ['an email field', '<label for="c">Email</label><input id="c" type="email">'],
    ['a password field', '<label for="c">One-time code</label><input id="c" type="password">'],
    ['a hidden field', '<input id="c" autocomplete="one-time-code" style="display:none">'],
    ['a too-short field', '<input id="c" autocomplete="one-time-code" maxlength="4">'],
  ])('ignores %s', (_name, field) => {
    loadHtml(`<form>${field}<button>Go</button></form>`);
    expect(findOtpTarget(document, 6)).toBeNull();
  });

  it('prefers autocomplete=one-time-code over a field that merely says code', () => {
    loadHtml('<form><input id="x" name="code"><input id="c" autocomplete="one-time-code"></form>');
    expect(otpScore($('#c'))).toBeGreaterThan(otpScore($('#x')));
    expect(findOtpTarget(document, 6)).toEqual({ kind: 'field', field: $('#c') });
  });

  it('fills the field so the page sees it', () => {
    loadPage('signup.html');
    $('#verify').hidden = false;
    const seen = reactLike($('#otp'));
    const target = findOtpTarget(document, 6)!;
    expect(fillOtp(target, '482913')).toBe(true);
    expect($('#otp').value).toBe('482913');
    expect(seen.seen).toEqual(['482913']);
  });

  it('fills a row of one-character boxes, one character each', () => {
    loadPage('boxes.html');
    const target = findOtpTarget(document, 6);
    expect(target?.kind).toBe('boxes');
    const boxes = Array.from(document.querySelectorAll<HTMLInputElement>('.boxes input'));
    const seen = boxes.map((b) => reactLike(b));
    expect(fillOtp(target!, '739154')).toBe(true);
    expect(boxes.map((b) => b.value).join('')).toBe('739154');
    expect(seen.map((s) => s.seen.join(''))).toEqual(['7', '3', '9', '1', '5', '4']);
  });

  it('fills boxes each wrapped in their own element', () => {
    loadHtml('<form><div class="otp">' + [1, 2, 3, 4, 5, 6].map((i) => `<div><input maxlength="1" name="d${i}"></div>`).join('') + '</div></form>');
    const target = findOtpTarget(document, 6);
    expect(target?.kind).toBe('boxes');
    fillOtp(target!, 'A1B2C3');
    expect(Array.from(document.querySelectorAll('input')).map((b) => b.value).join('')).toBe('A1B2C3');
  });

  it('finds a code field inside an open shadow root', () => {
    loadHtml('<html><body><div id="host"></div></body></html>');
    const shadow = document.getElementById('host')!.attachShadow({ mode: 'open' });
    shadow.innerHTML = '<form><label for="c">Verification code</label><input id="c"></form>';
    const target = findOtpTarget(document, 6);
    expect(target).toEqual({ kind: 'field', field: shadow.getElementById('c') });
  });
});
