// Vocabulary for reading forms, in the languages the mail extractor reads (shared/verification):
// English, German, French, Spanish, Portuguese, Italian, Dutch, Polish, Russian, Turkish,
// Japanese, Chinese, Korean and Arabic.
//
// Every pattern runs on text passed through `norm()`: lowercased, with camelCase, `_`, `-`, `[`,
// `]`, `.` and `:` turned into spaces, so `userEmail`, `user_email` and `user-e-mail` all read
// "user email" / "user e mail". ASCII words use \b; other scripts match without boundaries.

export function norm(s: string | null | undefined): string {
  if (!s) return '';
  return s
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .replace(/[_\-[\].:/\\|()*]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * The vocabularies, built on first use: as regular-expression literals at the top of the bundle
 * they would be parsed and checked on every page load, before any field is ever focused.
 */
function build() {
  return {
    /** The field asks for an email address. */
    EMAIL: /\be ?mail|\bemail|\bmail\b|\bmail ?ad|courriel|adresse (é|e)lectronique|correo|correio ele|posta elettronica|\be ?posta\b|eposta|электронн\S* почт|эл ?почт|(^|[^а-яё])почта($|[^а-яё])|メール|邮箱|郵箱|邮件|郵件|电邮|電郵|이메일|전자 ?우편|메일|بريد|ايميل|إيميل|ایمیل/,
    /** Labels that look like email but are not: postal mail, mailing lists, mail server settings. */
    EMAIL_NOT: /\bmailing\b|\bmailbox\b|\bmail ?(server|host|port)\b|\bsmtp\b|\bimap\b|postal|\bzip\b|postleitzahl|code postal|c[óo]digo postal|почтов|البريدي|صندوق البريد/,
    /** Fields this extension never touches, whatever else their labels say. */
    PASSWORD: /passw|\bpwd\b|\bpass\b|contrase|mot de passe|senha|passwort|kennwort|wachtwoord|has[łl]o|парол|şifre|sifre|パスワード|密码|密碼|비밀번호|كلمة ?(ال)?مرور/,
    PHONE: /phone|\btel\b|\bmobile\b|\bcell\b|handy|telefon|téléphone|portable|celular|teléfono|telefone|telemóvel|cellulare|telefoonnummer|mobiel|komórk|телефон|мобильн|cep tel|電話|携帯|手机|電話番號|手機|전화|휴대폰|هاتف|جوال|موبايل/,
    SEARCH: /search|\bsuche\b|recherche|buscar|búsqueda|pesquis|cerca\b|zoeken|szukaj|поиск|\bara\b|検索|搜索|搜尋|검색|بحث/,
    HONEYPOT: /honey ?pot|\bhp\b|leave (this )?(field )?(empty|blank)|do ?n[o']?t fill|don ?t fill|not fill|\bbot\b|\bspam\b|nicht ausfüllen|ne pas remplir|no rellenar|não preencher|non compilare/,
    /** Words of a sign-up form: its button, heading, title or address. */
    SIGNUP: /sign ?up|\bregist|create (an |your |a new )?account|new account|\bjoin\b|get started|\bsubscri|newsletter|free trial|try (it )?(for )?free|\benrol|waitlist|wait list|early access|notify me|get (early )?access|registrier|konto (erstellen|anlegen|er[oö]ffnen)|\babonnier|jetzt kostenlos|\binscri|créer (un |votre )?compte|\babonne|regístr|registr|crear (una |tu )?cuenta|\bsuscr|únete|unete|cadastr|criar (uma |sua )?conta|\bassin(ar|e)\b|iscriv|iscrizion|crea (un |il tuo )?account|registreren|aanmelden|account aanmaken|inschrijv|abonneer|zarejestr|rejestrac|za[łl][oó]ż konto|utw[oó]rz konto|zapisz si|регистр|создать (аккаунт|учетную)|подписа|kay[ıi]t ol|kaydol|üye ol|uye ol|hesap olu[şs]tur|abone ol|登録|新規|アカウント作成|サインアップ|注册|註冊|创建账|建立帳|订阅|訂閱|회원 ?가입|가입|계정 만들|구독|إنشاء حساب|انشاء حساب|اشترك|التسجيل|سجل الآن|سجّل/,
    /** Words of a sign-in form (takes precedence over SIGNUP only where the form itself says it). */
    LOGIN: /\blog ?in\b|\bsign ?in\b|\blogin\b|\bsignin\b|einlogg|\banmelden\b(?! ?f[üu]r)|connexion|se connecter|iniciar sesi|inicia sesi|\bentrar\b|fazer login|\baccedi\b|\baccesso\b|inloggen|zaloguj|logowani|войти|вход\b|giri[şs] yap|oturum a[çc]|ログイン|サインイン|登录|登入|登錄|로그인|تسجيل الدخول|دخول/,
    /** Password reset and recovery forms: not a sign-up. */
    RESET: /forgot|reset|recover|lost (your )?password|vergessen|zurücksetzen|oubli|réinitialis|olvid|restablec|esquec|redefin|recuper|dimentica|vergeten|przypomnij|zapomnia|забыл|восстанов|sıfırla|unuttum|忘れ|再設定|忘记|重置|忘記|재설정|찾기|نسيت|استعادة/,
    /** A one-time code field. */
    OTP: /\bcode\b|\botp\b|one ?time|\bverif|passcode|\bpin\b|\b2fa\b|\bmfa\b|\btoken\b|\btotp\b|security code|\bauth ?code|authenticat|bestätigungscode|sicherheitscode|\bcode de\b|código|codigo|\bcodice\b|verificatiecode|\bkod\b|\bkodu\b|\bkodunu\b|код|コード|認証|確認番号|ワンタイム|验证码|驗證碼|校验码|动态码|確認碼|确认码|인증|코드|رمز|كود|التحقق/,
    /** Codes that are not one-time codes. */
    OTP_NOT: /coupon|promo|discount|voucher|gift|postal|post ?code|\bzip\b|postleitzahl|\bplz\b|code postal|c[óo]digo postal|\bcap\b|country|area code|\bdial\b|referr|invit|captcha|tracking|sponsor|affiliate|rabatt|gutschein|cup[óo]n|cupom|индекс|купон|промо|邮编|郵便番号|우편번호|البريدي|pocztow|posta kodu|\bbank|\biban\b|swift|sort code|\bcvv|\bcvc|\bcard\b|\btax\b|\bvat\b|\bnip\b|\bsku\b|product|\bqr\b/,
    /** Words that make a field a code field even when it also says "email". */
    CODE_WORD: /\bcodes?\b|\botp\b|\bpin\b|passcode|код|\bkod[uy]?\b|código|codigo|codice|コード|验证码|驗證碼|인증 ?번호|رمز/,
    /** autocomplete tokens that name something other than an email address. */
    NOT_EMAIL_AUTOCOMPLETE:
      /\b(name|given-name|family-name|additional-name|honorific-\w+|nickname|new-password|current-password|one-time-code|organization(-title)?|street-address|address-line\d|address-level\d|country(-name)?|postal-code|cc-\w+|transaction-\w+|language|bday(-\w+)?|sex|url|photo|tel(-\w+)?|impp)\b/,
  };
}

export type Words = ReturnType<typeof build>;
let built: Words | null = null;

export function words(): Words {
  return (built ??= build());
}
