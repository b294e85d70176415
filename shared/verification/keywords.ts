// Multilingual vocabulary for finding verification codes and links.
//
// Words are matched on lowercased text. An entry is written in one of three forms:
//   "verif"   a stem: must start a word (no letter or digit before it), any ending may follow
//   "=pin"    a whole word: no letter or digit on either side
//   "~code"   anywhere, even inside a word (German and Dutch compounds, CJK, Arabic with its
//             attached articles and prepositions)
// When several entries could match at one place the longest wins, so a phrase such as
// "postal code" is read as one negative word instead of as "code".

/** What a matched word says about a number next to it. */
export const Kw = {
  /** Contains "code" but means nothing for us (unicode, decode): blocks the inner match. */
  Ignore: 0,
  /** A word that names a one-time code: code, OTP, verification, PIN, 認証, 验证码, رمز. */
  Strong: 1,
  /** Near a code but not one by itself: confirm, security, login, password, enter. */
  Weak: 2,
  /** Labels numbers that are not codes: order, invoice, account, phone, total, meeting. */
  Neg: 3,
  /** "number", "Nr.", "番号": takes its meaning from the word before it. */
  Num: 4,
  /** Turns a following or preceding "code" into something else: promo, postal, tracking. */
  Hard: 5,
  /** "account": a code "for your account" is still a code, "account 12345678" is not. */
  Soft: 6,
} as const;
export type Kw = (typeof Kw)[keyof typeof Kw];

const STRONG = [
  // English
  '~code', '=otp', '=otps', 'one-time', 'one time', 'onetime', 'verif', '=pin', '=pins', '=2fa', '=mfa',
  'two-factor', 'two factor', '2-step', 'authenticat', '=tan', 'passcode',
  // German
  'einmalpasswort', 'einmalkennwort', 'einmal-pin', 'authentifizier', 'mtan', 'smstan', 'sms-tan',
  // French
  'usage unique', 'vérif', 'authentifi',
  // Spanish / Portuguese / Italian
  'código', 'códigos', 'codigo', 'un solo uso', 'uso único', 'uso unico', 'autentica', 'codice', 'codici', 'monouso',
  // Dutch
  'eenmalig',
  // Polish
  '=kod', '=kodu', '=kodem', '=kody', '=kodów', 'weryfik', 'jednorazow', 'uwierzyteln',
  // Russian
  '=код', '=кода', '=коду', '=кодом', 'проверочн', 'одноразов', 'верификац', 'аутентификац',
  // Turkish
  '=kod', 'kodu', 'kodun', 'doğrulama', 'dogrulama', 'tek kullanımlık', 'tek seferlik',
  // Japanese
  '~コード', '~認証', '~ワンタイム', '~暗証番号',
  // Chinese
  '~验证码', '~驗證碼', '~验证', '~驗證', '~校验码', '~校驗碼', '~动态码', '~動態碼', '~动态密码', '~動態密碼',
  '~一次性', '~安全码', '~安全碼', '~认证', '~認證', '~确认码', '~確認碼', '~代码', '~代碼',
  // Korean
  '~인증', '~코드', '~일회용',
  // Arabic
  '~رمز', '~كود', '~تحقق', '~لمرة واحدة',
];

const WEAK = [
  // English
  'confirm', 'security', '=login', '=log in', '=log-in', 'sign in', 'sign-in', 'signin', 'password', '=enter',
  '=token', 'access', '=authorize', '=authorise',
  // German
  'bestätig', 'bestaetig', 'sicherheit', 'anmeld', 'einlogg', 'passwort', 'kennwort', 'eingeb', '=gib', 'zugang',
  // French
  'sécurité', 'connexion', 'mot de passe', 'saisi', '=entrez', '=confirmer',
  // Spanish / Portuguese / Italian
  'seguridad', 'inicio de sesión', 'iniciar sesión', 'contraseña', 'introduc', 'ingres', 'segurança', 'acesso',
  'senha', 'insira', '=digite', 'introduz', 'conferm', 'sicurezza', 'inserisc', 'accedi',
  // Dutch
  'bevestig', 'beveilig', 'inlog', 'wachtwoord', '=voer',
  // Polish
  'potwierdz', 'potwierdź', 'bezpiecze', 'logowan', 'zaloguj', 'hasło', 'hasła', 'hasl', 'wpisz', 'wprowadź',
  // Russian
  'подтвержд', 'подтверд', 'безопасн', '=вход', '=входа', 'войти', 'парол', 'введите',
  // Turkish
  'onay', 'güvenlik', 'giriş', 'şifre', 'sifre', 'girin', 'giriniz',
  // Japanese
  '~確認', '~セキュリティ', '~ログイン', '~パスワード', '~入力', '~サインイン',
  // Chinese
  '~确认', '~安全', '~登录', '~登入', '~登錄', '~密码', '~密碼', '~输入', '~輸入',
  // Korean
  '~확인', '~보안', '~로그인', '~비밀번호', '~입력',
  // Arabic
  '~تأكيد', '~تاكيد', '~أمان', '~الأمان', '~تسجيل الدخول', '~كلمة المرور', '~أدخل', '~ادخل',
];

const NEG = [
  // English
  'order', 'invoice', 'receipt', 'reference', '=ref', 'ticket', '=acct', 'customer', 'member',
  'booking', 'reservation', 'shipment', 'parcel', 'package', 'deliver', '=phone', '=tel', 'telephone', '=fax',
  '=call', 'mobile', 'case', 'claim', 'policy', 'serial', '=model', '=sku', '=item', '=items', '=id',
  '=tax', '=vat', '=iban', '=bic', '=blz', '=job', 'commit', 'pull request', '=pr', 'pipeline', '=issue', '=like', 'e.g.',
  'such as', 'for example', 'example', 'beispiel', 'z. b.', 'exemple', 'ejemplo', 'exemplo', 'esempio',
  'voorbeeld', 'przykład', 'пример', 'örnek', '~例えば', '~例如', '~예를 들어', '~مثل',
  'routing', '=card', 'ending', 'street', '=suite', '=floor', '=room', '=gate', '=seat', 'flight', 'platform',
  'version', '=build', 'meeting', 'webinar', '=zoom', 'conference', 'dial-in', 'dial in', 'points', 'miles',
  'employee', 'patient', 'student', 'registration number', 'license', 'licence', 'pickup', 'pick-up',
  'collection', 'locker', '=door', 'wifi', 'wi-fi', 'parking', 'abhol', 'packstation', 'retrait', 'recogida',
  'retirada', 'ritiro', 'afhaal', 'odbior', 'odbioru', 'получени', 'teslim', '~取件', '~受取', '~수령',
  // German
  'bestell', 'rechnung', 'quittung', '=beleg', 'referenz', 'kunden', 'mitglied', 'buchung',
  'reservier', 'liefer', 'telefon', 'anruf', 'vorgang', 'auftrag', 'vertrag', 'artikel', 'betrag',
  '=summe', 'gesamt', '=preis', '=mwst', '=ust', 'karte', 'straße', 'strasse', '=str', 'hausnummer', 'besprechung',
  'punkte', 'meilen',
  // French
  'commande', 'facture', '=reçu', 'référence', 'billet', '=client', 'membre', 'réservation', 'colis',
  'livraison', 'téléphone', '=tél', 'dossier', 'contrat', 'montant', '=prix', '=tva', 'carte', '=rue', 'avenue',
  'réunion',
  // Spanish
  'pedido', 'factura', 'recibo', 'referencia', 'billete', 'cliente', '=socio', 'reserva', 'envío',
  'paquete', 'teléfono', 'importe', 'precio', '=iva', 'tarjeta', '=calle', 'reunión', 'puntos',
  // Portuguese
  'fatura', 'referência', 'bilhete', 'encomenda', 'entrega', 'telefone', '=valor', 'preço', 'cartão',
  '=rua', 'reunião', 'pontos',
  // Italian
  'ordine', 'fattura', 'ricevuta', 'riferimento', 'biglietto', 'prenotazione', 'pacco', 'consegna',
  'telefono', 'importo', 'totale', 'prezzo', '=carta', '=via', '=piazza', 'riunione', 'punti',
  // Dutch
  'bestel', 'factuur', '=bon', 'referentie', '=klant', 'klantnummer', 'boeking', 'reservering',
  'pakket', 'levering', 'telefoon', 'bedrag', 'totaal', 'prijs', '=btw', 'straat', 'vergadering',
  // Polish
  'zamówien', 'zamowien', 'faktur', 'paragon', 'referenc', 'bilet', '=klient', 'rezerwac', 'paczk', 'dostaw',
  'kwota', '=suma', '=cena', 'karta', 'ulica', '=ul', 'spotkani', 'punktów',
  // Russian
  'заказ', '=счет', '=счёт', '=счета', '=чек', 'квитанц', 'билет', 'клиент', 'бронир', 'посылк', 'достав',
  'телефон', '=тел', 'сумма', 'итого', '=цена', 'карт', 'улиц', '=ул', 'встреч', 'баллов',
  // Turkish
  'sipariş', 'siparis', '=fatura', 'makbuz', 'referans', 'müşteri', 'musteri', 'rezervasyon', 'paket',
  'teslimat', 'tutar', 'toplam', 'fiyat', '=kart', 'cadde', 'sokak', 'mahalle', 'toplantı', 'puan',
  // Japanese
  '~注文', '~請求', '~領収', '~参照', '~チケット', '~会員', '~予約', '~配送', '~発送', '~荷物', '~電話',
  '~金額', '~合計', '~価格', '~お問い合わせ', '~会議', '~ポイント',
  // Chinese
  '~订单', '~訂單', '~发票', '~發票', '~收据', '~參考', '~参考', '~会员', '~會員', '~预订', '~預訂',
  '~电话', '~金额', '~合计', '~價格', '~价格', '~手机', '~会议', '~積分', '~积分',
  // Korean
  '~주문', '~청구', '~영수증', '~참조', '~티켓', '~회원', '~예약', '~전화', '~금액', '~합계', '~가격', '~회의',
  '~포인트',
  // Arabic
  '~طلب', '~فاتورة', '~إيصال', '~مرجع', '~تذكرة', '~عميل', '~حجز', '~طرد', '~هاتف', '~جوال', '~مبلغ',
  '~المجموع', '~سعر', '~شارع', '~اجتماع', '~نقاط',
];

const SOFT = [
  // Money: an amount is excluded by its shape; the word only rules out what directly follows it.
  'transaction', 'payment', 'amount', 'total', 'subtotal', 'balance', 'price', 'purchase', 'zahlung', 'paiement',
  'pago', 'pagamento', 'betaling', 'płatnoś', 'платеж', 'платёж', 'ödeme', '~支払', '~支付', '~결제', '~دفع',
  'account', '=konto', '=kontos', 'compte', 'cuenta', '=conta', '=conto', 'hesab', 'hesap', 'аккаунт', 'учетн',
  'учётн', '=rekening', '~アカウント', '~口座', '~账户', '~帳戶', '~账号', '~帳號', '~계정', '~계좌', '~حساب',
];

const NUM = [
  'number', '=no', '=nr', '=nº', '=n°', '=num', '~nummer', 'numéro', 'número', 'numero', 'numer', 'номер',
  'numara', '~番号', '~号码', '~號碼', '~编号', '~編號', '~单号', '~單號', '~번호', '~رقم',
];

const HARD = [
  // promotions
  'promo', 'coupon', 'discount', 'voucher', '=gift', 'gift card', 'giftcard', 'referral', 'rabatt', 'gutschein',
  'aktionscode', 'réduction', 'promotionnel', 'descuento', 'cupón', 'cupon', 'promocional', 'desconto', 'cupom',
  'sconto', 'promozional', 'korting', 'actiecode', '=rabat', 'rabatow', 'kupon', 'promocyjn', 'промо', 'скидк',
  'купон', 'indirim', '=sale', '% off', 'soldes', 'rebajas', '=saldi', 'promoção', 'promocja', 'распродаж', '~セール', '~促销', '~クーポン', '~割引', '~优惠', '~優惠', '~折扣', '~할인', '~쿠폰', '~خصم',
  '~قسيمة',
  // postal codes
  'postal', 'postcode', 'zipcode', 'zip code', '=zip', '=plz', 'postleitzahl', 'code postal', 'código postal',
  'codigo postal', 'codice postale', '=cap', '=cep', 'kod pocztowy', 'почтов', 'индекс', 'posta kodu',
  '~郵便', '~〒', '~邮编', '~郵編', '~邮政编码', '~우편', '~الرمز البريدي', '~رمز بريدي',
  // tracking
  'tracking', 'track', 'sendung', '=suivi', 'seguimiento', 'rastre', 'tracciament', 'spedizion', 'volgnummer',
  'przesyłk', 'отслеж', '=трек', 'трек-номер', 'takip', 'kargo', '~追跡', '~物流', '~快递', '~快遞', '~运单', '~運單',
  '~배송', '~운송장', '~송장', '~택배', '~تتبع', '~شحن',
  // other kinds of code
  'barcode', 'bar code', 'qr code', 'qr-code', 'qrcode', '=qr', 'error code', 'fehlercode', 'status code',
  'source code', 'dress code', 'country code', 'area code', 'swift code', 'sort code', 'bank code',
  'product code', 'item code', 'style code', 'color code', 'colour code', 'recovery code', 'backup code',
  'wiederherstellungscode', 'sicherungscode', 'code de récupération', 'codes de récupération', 'code de secours',
  'codes de secours', 'código de recuperación', 'códigos de recuperación', 'código de respaldo',
  'códigos de backup', 'código de backup', 'codice di recupero', 'codici di backup', 'herstelcode', 'kod zapasowy',
  'kody zapasowe', 'kod odzyskiwania', 'резервный код', 'резервные коды', 'kurtarma kodu', 'yedek kod',
  '~バックアップコード', '~リカバリーコード', '~备用码', '~恢复码', '~백업 코드', '~복구 코드', '~رمز الاسترداد',
  'authorization code', 'authorisation code', 'auth code', 'approval code', 'autorisierungscode',
  'genehmigungscode', "code d'autorisation", 'código de autorización', 'código de autorização',
];

const IGNORE = [
  'unicode', 'encod', 'decod', 'codec', 'codepen', 'vscode', 'xcode', 'opcode', 'barcodes', 'code review',
  'code of conduct', 'codebase', 'code base', 'code sample', 'code snippet', 'code change', 'coding', 'codespace',
];

interface Entry { word: string; kind: Kw; mode: 0 | 1 | 2 } // 0 stem, 1 whole word, 2 anywhere

function entries(list: readonly string[], kind: Kw): Entry[] {
  return list.map((raw) => {
    if (raw.startsWith('=')) return { word: raw.slice(1), kind, mode: 1 as const };
    if (raw.startsWith('~')) return { word: raw.slice(1), kind, mode: 2 as const };
    return { word: raw, kind, mode: 0 as const };
  });
}

const ALL: Entry[] = [
  ...entries(IGNORE, Kw.Ignore),
  ...entries(HARD, Kw.Hard),
  ...entries(NUM, Kw.Num),
  ...entries(NEG, Kw.Neg),
  ...entries(SOFT, Kw.Soft),
  ...entries(STRONG, Kw.Strong),
  ...entries(WEAK, Kw.Weak),
];

const ENTRY_BY_WORD = new Map<string, Entry>();
for (const e of ALL) if (!ENTRY_BY_WORD.has(e.word)) ENTRY_BY_WORD.set(e.word, e);

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

interface Trie { end: boolean; next: Map<string, Trie> }

function trieSource(node: Trie): string {
  const branches = [...node.next].map(([ch, child]) => escapeRe(ch) + trieSource(child));
  if (branches.length === 0) return '';
  const alt = branches.length === 1 && !node.end ? branches[0] ?? '' : `(?:${branches.join('|')})`;
  return node.end ? `${alt.startsWith('(?:') ? alt : `(?:${alt})`}?` : alt;
}

/**
 * One regex for a word list, shaped as a trie ("co(?:de|nfirm)") so that the engine does a
 * constant amount of work per input position however long the list is. Longer words win.
 */
export function buildRe(words: Iterable<string>, flags = 'u'): RegExp {
  const root: Trie = { end: false, next: new Map() };
  for (const w of words) {
    let node = root;
    for (const ch of w) {
      let child = node.next.get(ch);
      if (!child) {
        child = { end: false, next: new Map() };
        node.next.set(ch, child);
      }
      node = child;
    }
    node.end = true;
  }
  return new RegExp(trieSource(root), flags);
}

// Three passes keep the scan fast (a few ns per character):
//  - words that must start a word: one trie regex that is only tried where a word starts;
//  - Latin words allowed inside a word ("code" in "Bestätigungscode"): plain indexOf;
//  - CJK, Hangul and Arabic words: a second trie regex, run only when such script is present.
const LETTER_CLASS = '0-9a-z_\\u00c0-\\u024f\\u0370-\\u03ff\\u0400-\\u04ff';
const NON_LATIN_RE = /[\u0600-\u06ff\u3000-\u30ff\u3400-\u9fff\uac00-\ud7af\uff00-\uffef]/;
const startWords: string[] = [];
const innerLatin: string[] = [];
const innerOther: string[] = [];
for (const e of ENTRY_BY_WORD.values()) {
  if (e.mode !== 2 && /^[a-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff]/.test(e.word)) startWords.push(e.word);
  else if (NON_LATIN_RE.test(e.word)) innerOther.push(e.word);
  else innerLatin.push(e.word);
}
const START_RE = new RegExp(`(?<![${LETTER_CLASS}])${buildRe(startWords).source}`, 'g');
const INNER_RE = buildRe(innerOther, 'g');

const WORDISH = /[\p{L}\p{N}]/u;

function isWordChar(ch: string | undefined): boolean {
  if (ch === undefined) return false;
  const c = ch.charCodeAt(0);
  if (c < 128) return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  return WORDISH.test(ch);
}

/**
 * A vocabulary word found in a text. `end` is the end of the whole word, so that "verification"
 * found by the stem "verif" ends after "ion" and distances count from the word.
 */
export interface KwHit { kind: Kw; start: number; end: number }

/** A word right after one of these is part of a path, query, domain or tag ("feat/verify-flow"). */
const IN_IDENTIFIER = new Set(['/', '=', '.', '@', '#', '?', '&']);

/**
 * Lowercases for matching without changing the length (positions in the folded text are
 * positions in the original): "İ" would otherwise become "i" plus a combining dot.
 */
export function fold(s: string): string {
  return (s.includes('İ') ? s.replace(/İ/g, 'I') : s).toLowerCase();
}

/** Adds the matches of `re`; records in `stemEnds` where each match itself ends (before its word's ending). */
function runRe(re: RegExp, text: string, hits: KwHit[], stemEnds: number[] | null): void {
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const word = m[0];
    const start = m.index;
    let end = start + word.length;
    const e = ENTRY_BY_WORD.get(word);
    if (!e || (e.mode === 1 && isWordChar(text[end])) || IN_IDENTIFIER.has(text[start - 1] ?? '')) {
      re.lastIndex = start + 1;
      continue;
    }
    stemEnds?.push(end);
    if (e.mode === 0) while (end < text.length && end - start < 40 && isWordChar(text[end])) end++;
    hits.push({ kind: e.kind, start, end });
    re.lastIndex = end;
  }
}

/** Every vocabulary word in `text` (already folded), ordered by position. */
export function scanKeywords(text: string): KwHit[] {
  const hits: KwHit[] = [];
  const stemEnds: number[] = [];
  runRe(START_RE, text, hits, stemEnds);
  const covered = hits.length;
  for (const word of innerLatin) {
    const e = ENTRY_BY_WORD.get(word);
    if (!e) continue;
    let k = 0;
    for (let at = text.indexOf(word); at !== -1; at = text.indexOf(word, at + word.length)) {
      const end = at + word.length;
      // Skip it when a word-start match already covers it ("postcode", "unicode"), but not when
      // it only ends the word that match begins ("bestätigungscode").
      while (k < covered && (stemEnds[k] ?? 0) <= at) k++;
      const h = k < covered ? hits[k] : undefined;
      if ((h && h.start < end) || IN_IDENTIFIER.has(text[at - 1] ?? '')) continue;
      hits.push({ kind: e.kind, start: at, end });
    }
  }
  if (NON_LATIN_RE.test(text)) runRe(INNER_RE, text, hits, null);
  if (hits.length > covered) hits.sort((a, b) => a.start - b.start);
  return hits;
}

// ---------------------------------------------------------------------------------------------
// Links

/** Anchor text or nearby words that ask the user to confirm an address or an account. */
export const LINK_VERIFY = buildRe([
  'verif', 'vérif', 'confirm', 'conferm', 'activat', 'activate', 'validat', 'valider', 'validar', 'convalid',
  'bestätig', 'bestaetig', 'aktivier', 'freischalt', 'activer', 'activar', 'ativar', 'attiva', 'activeer',
  'bevestig', 'potwierd', 'potwierdź', 'weryfik', 'aktywuj', 'aktywac', 'подтверд', 'подтвержд', 'активир',
  'активац', 'doğrula', 'dogrula', 'onayla', 'etkinleştir', 'aktifleştir', 'aktive et', '確認', '認証', '有効化',
  '本登録', '登録を完了', '验证', '驗證', '确认', '激活', '啟用', '启用', '인증', '확인', '활성화', 'تأكيد', 'تاكيد',
  'تحقق', 'تفعيل', 'complete registration', 'complete sign', 'finish sign', 'registrierung abschließen',
]);

/** What a confirm/verify link is about: the address, the account, the sign-up. */
export const LINK_OBJECT = buildRe([
  'email', 'e-mail', 'mail', 'address', 'adresse', 'adres', 'dirección', 'direccion', 'endereço', 'indirizzo',
  'account', 'konto', 'compte', 'cuenta', 'conta', 'registr', 'sign up', 'signup', 'sign-up', 'subscription',
  'abonnement', 'suscripción', 'inscri', 'iscrizione', 'aanmelding', 'anmeldung', 'cadastro', 'rejestrac',
  'kayıt', 'identity', 'identität', 'identité',
  'device', 'gerät', 'appareil', 'dispositivo', 'login', 'sign-in', 'sign in', 'correo', 'почт', 'аккаунт',
  'учетн', 'учётн', 'регистрац', 'e-posta', 'eposta', 'hesab', 'üyelik', 'アカウント', 'メール', '登録',
  '邮箱', '郵箱', '邮件', '账号', '帳號', '账户', '注册', '註冊', '이메일', '계정', '가입', 'البريد', 'حساب', 'التسجيل',
]);

/** Sign-in (magic link) words. */
export const LINK_LOGIN = buildRe([
  'sign in', 'sign-in', 'signin', 'log in', 'log-in', 'login', 'magic link', 'anmelden', 'einloggen',
  'se connecter', 'connexion', 'iniciar sesión', 'iniciar sessão', 'inicia sesión', 'acceder', 'entrar', 'accedi',
  'inloggen', 'log in', 'zaloguj', 'logowan', 'войти', 'вход', 'giriş yap', 'oturum aç', 'ログイン', 'サインイン',
  '登录', '登入', '登錄', '로그인', 'تسجيل الدخول', 'الدخول',
]);

/** Password reset words. */
export const LINK_RESET = buildRe([
  'reset', 'set password', 'set a password', 'new password', 'choose a password', 'create password',
  'zurücksetzen', 'zuruecksetzen', 'neues passwort', 'réinitialis', 'nouveau mot de passe', 'restablecer',
  'nueva contraseña', 'redefinir', 'nova senha', 'reimposta', 'nuova password', 'herstel', 'opnieuw instellen',
  'nieuw wachtwoord', 'resetuj', 'zresetuj', 'nowe hasło', 'сбросить', 'сброс', 'новый пароль', 'восстанов',
  'sıfırla', 'yeni şifre', '再設定', '重置', '重設', '재설정', 'إعادة تعيين', 'كلمة مرور جديدة',
]);

/** Anchors and nearby words that are never the link: unsubscribe, help, legal, social, views. */
export const LINK_NEG = buildRe([
  'unsubscribe', 'opt out', 'opt-out', 'optout', 'preferences', 'manage subscription', 'email settings',
  'privacy', 'terms', 'legal', 'help', 'support', 'faq', 'contact', 'feedback', 'survey', 'view in browser',
  'view online', 'view this email', 'web version', 'browser', 'report', 'not you', 'abmelden', 'abbestellen',
  'datenschutz', 'impressum', 'hilfe', 'kontakt', 'agb', 'désabonn', 'désinscri', 'se désinscrire',
  'confidentialité', 'aide', 'darse de baja', 'darte de baja', 'baja', 'privacidad', 'ayuda', 'cancelar inscrição',
  'descadastr', 'privacidade', 'ajuda', 'disiscriv', 'annulla iscrizione', 'cancella iscrizione', 'aiuto',
  'uitschrijven', 'afmelden', 'wypisz', 'rezygn', 'prywatnoś', 'pomoc', 'отписаться', 'отписка',
  'конфиденциальн', 'помощь', 'abonelikten', 'aboneliği', 'gizlilik', 'yardım', '配信停止', '購読解除',
  'プライバシー', 'ヘルプ', '退订', '退訂', '取消订阅', '隐私', '隱私', '帮助', '幫助', '수신 거부', '수신거부',
  '개인정보', '도움말', 'إلغاء الاشتراك', 'الخصوصية', 'مساعدة', 'track order', 'track your', 'view order',
  'view your order', 'order status', 'download', 'app store', 'google play', 'shop', 'facebook', 'twitter',
  'instagram', 'linkedin', 'youtube', 'tiktok', 'order', 'bestellung', 'commande', 'pedido', 'ordine',
  'bestelling', 'zamówien', 'заказ', 'sipariş', '注文', '订单', '訂單', '주문', 'invoice', 'receipt', 'rechnung',
  // confirming something other than the address: attendance, appointments, bookings, payments
  'attendance', 'appointment', 'booking', 'reservation', 'rsvp', 'delivery', 'payment', 'teilnahme', 'termin',
  'buchung', 'présence', 'rendez-vous', 'réservation', 'asistencia', 'cita', 'reserva', 'presença', 'presenza',
  'appuntamento', 'prenotazione', 'aanwezigheid', 'afspraak', 'obecnoś', 'wizyt', 'участие', 'запись', 'бронь',
  'katılım', 'randevu', 'rezervasyon', '出席', '参加', '予約', '预约', '预订', '참석', '예약', 'حضور', 'موعد', 'حجز',
]);

/** "If this wasn't you": the link that follows is a safety net, not the thing asked for. */
export const LINK_CONDITIONAL = buildRe([
  "didn't", 'did not', "wasn't you", 'was not you', "weren't you", 'not you', "don't recognize",
  'do not recognize', "didn't make", 'nicht sie', 'nicht du', 'nicht von ihnen', 'pas vous', "n'êtes pas",
  "n'étiez pas", 'no fuiste', 'no has sido', 'no reconoces', 'não foi você', 'não reconhece', 'non sei stato',
  'non eri tu', 'non riconosci', 'niet door jou', 'niet herkent', 'to nie ty', 'nie rozpozna', 'не вы',
  'не узнаете', 'siz değilseniz', 'siz yapmadıysanız', '心当たりがない', '身に覚えがない', '不是您', '不是你',
  '본인이 아닌', '본인이 요청하지', 'لم تكن أنت', 'لست أنت',
]);

/** Tell-tale words in a URL that opens a confirmation, sign-in or reset page. */
export const URL_POS = /verif|confirm|activat|activate|validat|magic|login|log-in|signin|sign-in|sign_in|auth|reset|password|passwort|bestaetig|bestatig|confirmer|verificar|confirmar|bevestig|potwierdz|onay|dogrula|token=|otp|invite|register|registration|opt-?in|doi/;

/** URL words that mark a link as never the one: unsubscribe, legal, help, social. */
export const URL_NEG = /unsub|opt-?out|optout|preferences|privacy|datenschutz|terms|legal|impressum|\/help|help\.|support|faq|\/contact|feedback|survey|webversion|view-?online|view_in_browser|\/view\/|facebook\.com|twitter\.com|\/\/x\.com|instagram\.com|linkedin\.com|youtube\.com|tiktok\.com|pinterest\.|apps\.apple\.com|play\.google\.com|\.(?:png|jpe?g|gif|webp|svg|ico|bmp)(?:$|[?#])|\/track\/open|\/open\.(?:gif|php|aspx)|pixel|beacon/;

/** The subject or body says the mail is about signing in (so a login link is the point of it). */
export const LOGIN_INTENT = buildRe([
  'sign in', 'sign-in', 'signin', 'log in', 'log-in', 'login', 'magic link', 'anmeld', 'einlogg', 'connexion',
  'connecter', 'iniciar sesión', 'inicio de sesión', 'acceso', 'acesso', 'entrar', 'accedi', 'accesso',
  'inloggen', 'inloglink', 'logowan', 'zaloguj', 'вход', 'войти', 'giriş', 'oturum', 'ログイン', 'サインイン',
  '登录', '登入', '登錄', '로그인', 'تسجيل الدخول',
]);
