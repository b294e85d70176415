// @vitest-environment happy-dom
// Which fields get the inline suggestion: email fields of sign-up forms, in the languages the
// extractor reads; never sign-in, reset, password, name, phone, search, hidden or honeypot fields.
import { beforeAll, describe, expect, it } from 'vitest';
import { emailTwins, isEmailField, isSignupEmailField, isVisible } from '../../extension/content/detect.ts';
import { $, installLayout, loadHtml, loadPage } from './dom.ts';

beforeAll(installLayout);

/** A form around one field (#f), with a heading and a button. */
function form(field: string, opts: { button?: string; heading?: string; extra?: string; title?: string } = {}): string {
  return `<html><head><title>${opts.title ?? 'Example'}</title></head><body>
    ${opts.heading ? `<h1>${opts.heading}</h1>` : ''}
    <form>${field}${opts.extra ?? ''}<button type="submit">${opts.button ?? 'Continue'}</button></form></body></html>`;
}

const SIGNUP: [string, string][] = [
  ['type=email', form('<label for="f">Email</label><input id="f" type="email">', { button: 'Sign up' })],
  ['autocomplete=email', form('<input id="f" autocomplete="email" placeholder="you@example.com">', { button: 'Create account' })],
  ['name only', form('<input id="f" name="user[email]">', { heading: 'Create your account', button: 'Next' })],
  ['camelCase id', form('<input id="f" data-x="userEmailAddress" aria-label="userEmailAddress">', { button: 'Register' })],
  ['aria-labelledby', form('<span id="l">E-mail address</span><input id="f" aria-labelledby="l">', { button: 'Join now' })],
  ['wrapping label', form('<label>Your email <input id="f"></label>', { button: 'Get started' })],
  ['text before field, no label', form('<div>Email</div><div><input id="f"></div>', { button: 'Start free trial' })],
  ['two passwords decide', form('<label for="f">Email</label><input id="f" type="email"><input type="password"><input type="password">', { button: 'Continue' })],
  ['newsletter, no form element', `<html><body><div class="nl"><h3>Newsletter</h3><input id="f" placeholder="Email"><button>Subscribe</button></div></body></html>`],
  ['de', form('<label for="f">E-Mail-Adresse</label><input id="f">', { button: 'Registrieren' })],
  ['fr', form('<label for="f">Adresse électronique</label><input id="f">', { button: "S'inscrire" })],
  ['fr courriel', form('<label for="f">Courriel</label><input id="f">', { button: 'Créer un compte' })],
  ['es', form('<label for="f">Correo electrónico</label><input id="f">', { button: 'Regístrate' })],
  ['pt', form('<label for="f">E-mail</label><input id="f">', { button: 'Criar conta' })],
  ['it', form('<label for="f">Indirizzo email</label><input id="f">', { button: 'Registrati' })],
  ['nl', form('<label for="f">E-mailadres</label><input id="f">', { button: 'Account aanmaken' })],
  ['pl', form('<label for="f">Adres e-mail</label><input id="f">', { button: 'Zarejestruj się' })],
  ['ru', form('<label for="f">Электронная почта</label><input id="f">', { button: 'Зарегистрироваться' })],
  ['tr', form('<label for="f">E-posta adresi</label><input id="f">', { button: 'Kayıt ol' })],
  ['ja', form('<label for="f">メールアドレス</label><input id="f">', { button: '新規登録' })],
  ['zh', form('<label for="f">电子邮箱</label><input id="f">', { button: '注册' })],
  ['zh-TW', form('<label for="f">電子郵件</label><input id="f">', { button: '註冊' })],
  ['ko', form('<label for="f">이메일</label><input id="f">', { button: '회원가입' })],
  ['ar', form('<label for="f">البريد الإلكتروني</label><input id="f">', { button: 'إنشاء حساب' })],
  ['neutral email-only form', form('<label for="f">Email</label><input id="f" type="email">', { button: 'Continue' })],
  ['sign-up page with a "log in" link', `<html><body><h1>Sign up</h1><form><input id="f" type="email" placeholder="Email"><input type="password"><button>Create account</button></form><p>Already have an account? <a href="/login">Log in</a></p></body></html>`],
];

const NOT_SIGNUP: [string, string][] = [
  ['sign-in form', form('<label for="f">Email</label><input id="f" type="email"><input type="password">', { button: 'Log in' })],
  ['sign-in, username autocomplete', form('<input id="f" type="email" autocomplete="username"><input type="password" autocomplete="current-password">', { button: 'Continue' })],
  ['sign-in in German', form('<label for="f">E-Mail</label><input id="f"><input type="password">', { button: 'Einloggen' })],
  ['sign-in in Japanese', form('<label for="f">メールアドレス</label><input id="f"><input type="password">', { button: 'ログイン' })],
  ['password reset', form('<label for="f">Email</label><input id="f" type="email">', { heading: 'Forgot your password?', button: 'Send reset link' })],
  ['password reset in Spanish', form('<label for="f">Correo</label><input id="f">', { heading: '¿Olvidaste tu contraseña?', button: 'Restablecer' })],
];

const NEVER_EMAIL: [string, string][] = [
  ['password', form('<label for="f">Email password</label><input id="f" type="password">', { button: 'Sign up' })],
  ['search', form('<input id="f" type="search" placeholder="Search mail">', { button: 'Sign up' })],
  ['search role', `<html><body><div role="search"><input id="f" placeholder="Search email"></div></body></html>`],
  ['phone', form('<label for="f">Phone</label><input id="f" type="tel">', { button: 'Sign up' })],
  ['phone as text', form('<label for="f">Mobile number</label><input id="f">', { button: 'Sign up' })],
  ['first name', form('<label for="f">First name</label><input id="f" autocomplete="given-name">', { button: 'Sign up' })],
  ['name', form('<label for="f">Name</label><input id="f" name="name">', { button: 'Sign up' })],
  ['mailing address', form('<label for="f">Mailing address</label><input id="f">', { button: 'Sign up' })],
  ['postal code (Arabic)', form('<label for="f">الرمز البريدي</label><input id="f">', { button: 'إنشاء حساب' })],
  ['email verification code', form('<label for="f">Email verification code</label><input id="f" inputmode="numeric">', { button: 'Verify' })],
  ['checkbox', form('<label><input id="f" type="checkbox" name="email_opt_in"> Email me</label>', { button: 'Sign up' })],
  ['hidden input', form('<input id="f" type="hidden" name="email">', { button: 'Sign up' })],
  ['honeypot by name', form('<label for="f">Leave this field empty</label><input id="f" name="email_hp" type="email">', { button: 'Sign up' })],
];

const HIDDEN: [string, string][] = [
  ['display:none', form('<input id="f" type="email" style="display:none">', { button: 'Sign up' })],
  ['visibility:hidden', form('<input id="f" type="email" style="visibility:hidden">', { button: 'Sign up' })],
  ['opacity 0', form('<input id="f" type="email" style="opacity:0">', { button: 'Sign up' })],
  ['off-screen', form('<input id="f" type="email" style="position:absolute;left:-9999px;top:0">', { button: 'Sign up' })],
  ['tiny', form('<input id="f" type="email" style="width:1px;height:1px">', { button: 'Sign up' })],
  ['hidden ancestor', form('<div hidden><input id="f" type="email"></div>', { button: 'Sign up' })],
  ['aria-hidden ancestor', form('<div aria-hidden="true"><input id="f" type="email"></div>', { button: 'Sign up' })],
  ['hidden by class', `<html><head><style>.hp{position:absolute;left:-5000px}</style></head><body><form><input id="f" class="hp" type="email"><button>Sign up</button></form></body></html>`],
];

describe('sign-up email fields', () => {
  it.each(SIGNUP)('suggests on %s', (_name, html) => {
    loadHtml(html);
    expect(isSignupEmailField($('#f'))).toBe(true);
  });
  it.each(NOT_SIGNUP)('stays quiet on a %s', (_name, html) => {
    loadHtml(html);
    expect(isEmailField($('#f'))).toBe(true);
    expect(isSignupEmailField($('#f'))).toBe(false);
  });
  it.each(NEVER_EMAIL)('never takes a %s field for an email field', (_name, html) => {
    loadHtml(html);
    expect(isEmailField($('#f'))).toBe(false);
    expect(isSignupEmailField($('#f'))).toBe(false);
  });
  it.each(HIDDEN)('skips a field hidden by %s', (_name, html) => {
    loadHtml(html);
    expect(isVisible($('#f'))).toBe(false);
    expect(isSignupEmailField($('#f'))).toBe(false);
  });
});

describe('fixture pages', () => {
  it('signup.html: the email field, its confirm twin, and nothing else', () => {
    loadPage('signup.html');
    expect(isSignupEmailField($('#email'))).toBe(true);
    expect(isSignupEmailField($('#email2'))).toBe(true);
    for (const sel of ['input[name=given]', 'input[name=phone]', 'input[name=password]', 'input[type=search]', 'input[name=email_hp]']) {
      expect(isSignupEmailField($(sel)), sel).toBe(false);
    }
    expect(emailTwins($('#email'))).toEqual([$('#email2')]);
  });
  it('login.html: no suggestion', () => {
    loadPage('login.html');
    expect(isSignupEmailField($('#login-email'))).toBe(false);
  });
  it('newsletter.html: a German newsletter box without a form element', () => {
    loadPage('newsletter.html');
    expect(isSignupEmailField($('input[name=nl_mail]'))).toBe(true);
  });
  it('frame.html: a French sign-up form', () => {
    loadPage('frame.html');
    expect(isSignupEmailField($('#courriel'))).toBe(true);
  });
  it('a field inside an open shadow root', () => {
    loadHtml('<html><body><div id="host"></div></body></html>');
    const shadow = document.getElementById('host')!.attachShadow({ mode: 'open' });
    shadow.innerHTML = '<form><label for="w">Work email</label><input id="w"><button>Join waitlist</button></form>';
    expect(isSignupEmailField(shadow.getElementById('w')!)).toBe(true);
  });
});
