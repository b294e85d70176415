// /pair: a page that helps pair the browser extension. The page itself holds no secret, so it is
// served without a token; it shows the pairing details only once the visitor's token checks out
// against the API (the same rule and failure limit as every API call). The token reaches the page
// from the user's paste or from the URL fragment of the link the relay prints on its first start
// (`/pair#token=…`): a fragment never goes to the server, so no token lands in any access log,
// and the page removes it from the address bar and history at once.
//
// With the Wisp extension installed, its content script recognises the page by
// <meta name="wisp-pairing">, and the "Pair the Wisp extension" button opens the extension's
// options with both values filled in; the user confirms with Save there.
//
// Safe by construction: a strict Content-Security-Policy (scripts and styles only from this relay,
// no inline code, no framing, no form posts, connections only back to the relay), no referrer, and
// the token never written into the HTML by the server.
import type { ServerResponse } from 'node:http';
import type { Route } from '../router.ts';

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="wisp-pairing" content="./">
<title>Pair Wisp</title>
<link rel="stylesheet" href="pair.css">
<script src="pair.js" defer></script>
</head>
<body>
<main>
<h1>Pair the Wisp extension</h1>
<p>The extension needs two things: this relay's URL and a token. Paste a token below to see both, ready to copy.
A new token comes from <code>wisp-relay user token me</code> on the relay's machine; the relay's first start prints one, with a link to this page that fills it in.</p>
<form id="check-form">
<label for="wisp-token">Token</label>
<input id="wisp-token" name="token" type="password" autocomplete="off" spellcheck="false" placeholder="wisp_…" required>
<button type="submit">Check token</button>
</form>
<p id="check-status" role="status" aria-live="polite"></p>
<section id="details" hidden>
<h2>Pairing details</h2>
<dl>
<dt>Relay URL</dt><dd><code id="relay-url"></code> <button type="button" id="copy-url">Copy</button></dd>
<dt>Token</dt><dd><code id="token-shown">••••••••</code> <button type="button" id="reveal">Show</button> <button type="button" id="copy-token">Copy</button></dd>
</dl>
<p>Paste them into the extension's options (<b>Relay URL</b>, <b>Token</b>, <b>Save</b>), or:</p>
<p><button type="button" id="wisp-pair-extension" disabled>Pair the Wisp extension</button></p>
<p id="wisp-extension-status" role="status" aria-live="polite">Looking for the Wisp extension in this browser…</p>
</section>
</main>
</body>
</html>
`;

const CSS = `:root{color-scheme:light dark;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:640px;margin:32px auto;padding:0 16px}
label{display:block;font-weight:600;margin:12px 0 4px}
input{width:100%;max-width:420px;padding:6px 8px;font:inherit;border:1px solid #8c959f;border-radius:6px}
button{font:inherit;padding:5px 12px;border-radius:6px;border:1px solid #8c959f;cursor:pointer;margin-top:8px}
button:disabled{opacity:.6;cursor:default}
#wisp-pair-extension{background:#5b3cc4;color:#fff;border-color:#4a2fa8;font-weight:600}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
dt{font-weight:600;margin-top:8px}dd{margin:2px 0 0}
.bad{color:#cf222e}.ok{color:#1a7f37}
`;

// Served as a file, never inline, so the CSP above can forbid inline script.
const JS = `'use strict';
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var base = new URL('./', location.href);
  var relayUrl = (base.origin + base.pathname).replace(/\\/+$/, '');
  var tokenInput = $('wisp-token');
  var verified = '';

  // A token in the fragment (#token=…) fills the field, then leaves the address bar and history.
  var m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    try { tokenInput.value = decodeURIComponent(m[1]); } catch (e) { tokenInput.value = m[1]; }
    history.replaceState(null, '', location.pathname + location.search);
  }

  function say(el, text, kind) { el.textContent = text; el.className = kind || ''; }

  function copy(text, button) {
    var done = function () { var t = button.textContent; button.textContent = 'Copied'; setTimeout(function () { button.textContent = t; }, 1500); };
    if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(text).then(done, function () {}); return; }
    var area = document.createElement('textarea'); area.value = text; document.body.appendChild(area); area.select();
    if (document.execCommand('copy')) done(); area.remove();
  }

  function extensionPresent() { return document.documentElement.getAttribute('data-wisp-extension') === 'present'; }

  function showExtension() {
    var button = $('wisp-pair-extension');
    if (extensionPresent()) {
      button.disabled = !verified;
      say($('wisp-extension-status'), 'The Wisp extension is installed in this browser: the button opens its options with both values filled in.');
    } else {
      button.disabled = true;
      say($('wisp-extension-status'), 'No Wisp extension found in this browser: install it, then reload this page, or paste the values by hand.');
    }
  }

  function check(event) {
    if (event) event.preventDefault();
    var token = tokenInput.value.trim();
    verified = '';
    $('details').hidden = true;
    if (!token) return;
    say($('check-status'), 'Checking…');
    fetch(relayUrl + '/api/aliases?limit=1', { headers: { authorization: 'Bearer ' + token }, cache: 'no-store', credentials: 'omit' })
      .then(function (res) {
        if (res.ok) {
          verified = token;
          $('relay-url').textContent = relayUrl;
          $('details').hidden = false;
          say($('check-status'), 'The relay accepted this token.', 'ok');
          showExtension();
        } else if (res.status === 401) {
          say($('check-status'), 'The relay refused this token.', 'bad');
        } else if (res.status === 429) {
          say($('check-status'), 'Too many failed tries from this address: wait a minute.', 'bad');
        } else {
          say($('check-status'), 'The relay answered with HTTP ' + res.status + '.', 'bad');
        }
      }, function () { say($('check-status'), 'The relay did not answer.', 'bad'); });
  }

  $('check-form').addEventListener('submit', check);
  $('copy-url').addEventListener('click', function (e) { copy(relayUrl, e.currentTarget); });
  $('copy-token').addEventListener('click', function (e) { if (verified) copy(verified, e.currentTarget); });
  $('reveal').addEventListener('click', function (e) {
    var shown = $('token-shown');
    if (shown.textContent === verified) { shown.textContent = '••••••••'; e.currentTarget.textContent = 'Show'; }
    else { shown.textContent = verified; e.currentTarget.textContent = 'Hide'; }
  });
  // The extension's content script marks the page once it has run (after this script).
  new MutationObserver(showExtension).observe(document.documentElement, { attributes: true, attributeFilter: ['data-wisp-extension'] });
  if (tokenInput.value) check();
})();
`;

function page(res: ServerResponse, type: string, body: string): null {
  res.writeHead(200, {
    'content-type': type,
    'content-security-policy': CSP,
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'cross-origin-opener-policy': 'same-origin',
    'cache-control': 'no-store',
  });
  res.end(body);
  return null;
}

/** Wire with `router.add(...pairRoutes())`: public routes, the page checks tokens through the API. */
export function pairRoutes(): Route[] {
  return [
    { method: 'GET', pattern: '/pair', public: true, handler: ({ res }) => page(res, 'text/html; charset=utf-8', HTML) },
    { method: 'GET', pattern: '/pair.js', public: true, handler: ({ res }) => page(res, 'text/javascript; charset=utf-8', JS) },
    { method: 'GET', pattern: '/pair.css', public: true, handler: ({ res }) => page(res, 'text/css; charset=utf-8', CSS) },
  ];
}
