// Chooses the link the user must open to confirm an address, sign in or reset a password.
//
// Every http(s) link is read three ways: its anchor text, the words of its URL, and the sentence
// around it ("To confirm your address, click here"). A link must belong to one of three kinds
// (confirm/verify, sign in, reset)
// and pass that kind's gate: sign-in links count only when the mail is about signing in (a
// newsletter's "Log in" footer is not), reset links only when a reset was asked for (a "your
// password was changed" notice offers one only "if this wasn't you"). Unsubscribe, legal, help,
// social, app-store, image and tracking-pixel URLs never count. The best score wins; a plain URL
// is preferred over the same action behind a click tracker.

import {
  LINK_CONDITIONAL,
  LINK_LOGIN,
  LINK_NEG,
  LINK_OBJECT,
  LINK_RESET,
  LINK_VERIFY,
  LOGIN_INTENT,
  URL_NEG,
  fold,
} from './keywords.ts';
import type { HtmlLink } from './html.ts';

const URL_RE = /https?:\/\/[^\s<>"'\u00a0\u3000`]+/gi;
const TRAILING_RE = /[.,;:!?'"»)\]}>）】」』]+$/;
const URL_VERIFY = /verif|confirm|conferm|activat|activate|validat|bestaetig|bestatig|bevestig|potwierdz|dogrula|onayla|opt-?in|email-?check|double-?opt/;
const URL_RESET = /reset|password|passwort|recover|forgot/;
const URL_LOGIN = /magic|login|log-in|signin|sign-in|sign_in|\/auth|auth\/|session|sso|otp|callback/;
const TOKEN_RE = /[A-Za-z0-9_%-]{20,}/;
const TRACKER_RE = /^https?:\/\/(?:click|clicks|links?|email|e|em|t|trk|track|tracking|ls|url\d*|r|go|mandrillapp|sendgrid|list-manage|ct|mail)\.|\/ls\/click|\/wf\/click|\/track\/click|[?&](?:redirect|url|u|target)=https?/i;
const GENERIC_ANCHOR = /^(?:click here|here|this link|link|click|tap here|hier|hier klicken|ici|cliquez ici|aquí|aqui|haz clic aquí|clique aqui|qui|clicca qui|klik hier|tutaj|kliknij tutaj|здесь|сюда|buraya|buraya tıklayın|こちら|ここ|此处|这里|點擊這裡|点击这里|여기|هنا|اضغط هنا)$/;
const CHANGED_RE = /changed|geändert|modifié|changé|cambiad|alterad|modificat|gewijzigd|zmienion|изменен|изменён|değiştir|変更|更改|修改|변경|تغيير|تم تغيير/;
const MAGIC_RE = /magic link|sign-in link|sign in link|login link|log-in link|anmeldelink|anmelde-link|lien de connexion|enlace de inicio|link de acesso|link di accesso|inloglink|link do logowania|ссылка для входа|giriş bağlantısı|ログインリンク|登录链接|로그인 링크|رابط تسجيل الدخول/;
const SENTENCE_RE = /[.!?。！？\n](?=[^.!?。！？\n]*$)/;

/** The part of `s` after its last sentence end. */
function lastSentence(s: string): string {
  const m = SENTENCE_RE.exec(s);
  return m ? s.slice(m.index + 1) : s;
}

/** URLs written out in plain text, each with the text around it. */
export function linksFromText(text: string): HtmlLink[] {
  const links: HtmlLink[] = [];
  URL_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = URL_RE.exec(text)) !== null && links.length < 200) {
    let href = m[0];
    // A closing bracket belongs to the URL only if the URL opened one.
    for (;;) {
      const trimmed = href.replace(TRAILING_RE, '');
      if (trimmed === href) break;
      href = trimmed;
    }
    if (m[0].endsWith(')') && href.includes('(') && !href.endsWith(')')) href += ')';
    const end = m.index + m[0].length;
    const lineEnd = text.indexOf('\n', end);
    const after = text.slice(end, Math.min(end + 80, lineEnd === -1 ? text.length : lineEnd));
    links.push({ href, text: '', before: text.slice(Math.max(0, m.index - 160), m.index), after, button: false });
  }
  return links;
}

export interface LinkContext {
  subject: string;
}

export function chooseLink(links: readonly HtmlLink[], ctx: LinkContext): string | null {
  const subject = fold(ctx.subject);
  const subjectLogin = LOGIN_INTENT.test(subject);
  const subjectReset = LINK_RESET.test(subject);
  const subjectChanged = CHANGED_RE.test(subject) && !subjectReset;
  let best: string | null = null;
  let bestScore = 0;
  const seen = new Set<string>();
  for (const l of links) {
    const href = l.href;
    if (href.length > 4000 || !/^https?:\/\/[^/?#\s]+/i.test(href) || seen.has(href)) continue;
    seen.add(href);
    const url = href.toLowerCase();
    if (URL_NEG.test(url)) continue;
    const text = fold(l.text).trim();
    const anchorIsUrl = /^https?:\/\//.test(text) || text === url.replace(/^https?:\/\//, '');
    if (text && !anchorIsUrl && LINK_NEG.test(text)) continue;
    const before = fold(l.before);
    const near = before.slice(-120);
    const pathStart = url.indexOf('/', url.indexOf('//') + 2);
    const path = pathStart === -1 ? '' : url.slice(pathStart);

    const words = anchorIsUrl ? '' : text;
    // "Verify email", "Confirm", "Activate my account": short, or about the address or account.
    // ("Verify your skills: take our 10-question quiz" is not.)
    const aVerify = LINK_VERIFY.test(words) && (words.split(/\s+/).length <= 4 || LINK_OBJECT.test(words));
    const aReset = LINK_RESET.test(words);
    const aLogin = LINK_LOGIN.test(words);
    // A click tracker's URL says nothing about where it leads.
    const tracked = TRACKER_RE.test(href);
    const uVerify = !tracked && URL_VERIFY.test(path);
    const uReset = !tracked && URL_RESET.test(path);
    const uLogin = !tracked && (URL_LOGIN.test(path) || /^https?:\/\/(?:auth|login|signin|accounts?|id|sso)\./.test(url));
    const token = TOKEN_RE.test(path);
    // "To confirm your email address, click here" (not "Verify your skills: https://…"); in
    // Japanese or Korean the sentence goes on after the link.
    const around = `${near} ${fold(l.after).slice(0, 60)}`;
    const bVerify = LINK_VERIFY.test(around) && LINK_OBJECT.test(around);
    // "Click here", a bare URL, a URL that plainly confirms or signs in with a token, or one that
    // confirms what the sentence around it asks for ("Yes, subscribe me").
    const generic = words === '' || GENERIC_ANCHOR.test(words) || (token && (uVerify || uLogin || uReset)) || (uVerify && bVerify);
    const bReset = LINK_RESET.test(before);
    const bLogin = LINK_LOGIN.test(near) || MAGIC_RE.test(before);

    // The kind: anchor words first, then (for "click here" and bare URLs) the URL and the sentence.
    let kind: 'verify' | 'reset' | 'login' | null = null;
    if (aVerify) kind = 'verify';
    else if (aReset) kind = 'reset';
    else if (aLogin) kind = 'login';
    else if (generic) {
      if (uVerify || bVerify) kind = 'verify';
      else if (uReset || (bReset && LINK_RESET.test(near))) kind = 'reset';
      else if (uLogin || bLogin) kind = 'login';
    }
    if (!kind) continue;

    let score = 0;
    if (aVerify || aReset) score += 5;
    else if (aLogin) score += 4;
    if (kind === 'verify' ? uVerify : kind === 'reset' ? uReset : uLogin) score += 3;
    if (generic && (kind === 'verify' ? bVerify : kind === 'reset' ? bReset : bLogin)) score += 3;
    else if (bVerify || bReset || bLogin) score += 1;
    if (l.button) score += 1;
    if (token) score += 1;
    if (tracked) score -= 2;

    if (kind === 'verify') {
      if (LINK_CONDITIONAL.test(lastSentence(before)) && !aVerify) continue;
    } else if (kind === 'reset') {
      if (LINK_CONDITIONAL.test(before) || subjectChanged) continue;
      if (!subjectReset && !bReset && !aReset) continue;
    } else {
      if (LINK_CONDITIONAL.test(before)) continue;
      // A sign-in URL carrying a one-time token is a magic link whatever the subject says.
      if (!subjectLogin && !MAGIC_RE.test(before) && !(uLogin && token)) continue;
    }
    if (score >= 4 && score > bestScore) {
      best = href;
      bestScore = score;
    }
  }
  return best;
}
