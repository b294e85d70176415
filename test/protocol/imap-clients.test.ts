// IMAP second and third opinions (INTERFACE.md §4): Python's imaplib (STARTTLS with an unverified
// context, implicit TLS, LOGIN and AUTHENTICATE PLAIN, SELECT, FETCH, SEARCH, STORE), curl's
// imap:// and imaps://, and a full sync with mbsync (Debian's isync) compared with what the API
// says was delivered.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alias, Summary } from '../../shared/api.ts';
import { allMessages, api, createAlias, makeTempDir, run, sendMail, startRelay } from '../support/relay.ts';
import type { Relay } from '../support/relay.ts';

let relay: Relay;
let alias: Alias;
let other: Alias;

const have = (program: string) => run('sh', ['-c', `command -v ${program}`]).then((r) => r.code === 0 && r.stdout.trim() !== '');

beforeAll(async () => {
  relay = await startRelay({ ports: { imap: '0', imaps: '0' } });
  alias = await createAlias(relay, { site: 'clients.example' });
  other = await createAlias(relay, { site: 'other.example' });
  await sendMail(relay, { to: alias.address, subject: 'First for clients', text: 'Plain body one\n' });
  await sendMail(relay, { to: other.address, subject: 'Deals for clients', text: 'Socks café\n' });
  await sendMail(relay, {
    to: alias.address,
    subject: 'With attachment',
    text: 'See the file.\n',
    attachments: [{ filename: 'notes.txt', content: 'line one\nline two\n' }],
  });
});

afterAll(async () => {
  await relay?.stop();
});

const PYTHON = String.raw`
import imaplib, ssl, json, sys
port, sport, user, token, address, other = sys.argv[1:7]
out = {}
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
M = imaplib.IMAP4('127.0.0.1', int(port))
out['greetingCaps'] = sorted(M.capabilities)
M.starttls(ssl_context=ctx)
out['login'] = M.login(user, token)[0]
out['list'] = [d.decode() for d in M.list()[1]]
typ, data = M.select('INBOX')
out['exists'] = int(data[0])
out['all'] = M.search(None, 'ALL')[1][0].decode().split()
out['subject'] = M.search(None, 'SUBJECT', '"attachment"')[1][0].decode().split()
M.literal = 'CAFÉ'.encode('utf-8')
out['utf8'] = M.search('UTF-8', 'BODY')[1][0].decode().split()
typ, data = M.uid('FETCH', '1:*', '(UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
out['headers'] = [d[1].decode().strip() for d in data if isinstance(d, tuple)]
typ, data = M.fetch('1', '(RFC822)')
out['raw1'] = data[0][1].decode('latin1')
out['uid1'] = M.fetch('1', '(UID)')[1][0].decode()
M.store('2', '+FLAGS', '(\\Flagged)')
out['flags2'] = M.fetch('2', '(FLAGS)')[1][0].decode()
out['bodystructure'] = M.fetch('3', '(BODYSTRUCTURE)')[1][0].decode()
M.close()
M.logout()
S = imaplib.IMAP4_SSL('127.0.0.1', int(sport), ssl_context=ctx)
S.authenticate('PLAIN', lambda _: ('\0' + address + '\0' + token).encode())
typ, data = S.select('INBOX', readonly=True)
out['addressExists'] = int(data[0])
out['addressList'] = [d.decode() for d in S.list()[1]]
out['otherSelect'] = S.select('"Aliases/' + other + '"')[0]
S.logout()
print(json.dumps(out))
`;

describe('IMAP with Python imaplib', () => {
  it('does STARTTLS, LOGIN, SELECT, SEARCH, FETCH, STORE, and AUTHENTICATE PLAIN over implicit TLS', async () => {
    const r = await run('python3', ['-c', PYTHON, String(relay.ports.imap), String(relay.ports.imaps), relay.user, relay.token, alias.address, other.address], {
      timeoutMs: 30_000,
    });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out.greetingCaps).toEqual(expect.arrayContaining(['IMAP4REV1', 'STARTTLS', 'IDLE', 'UIDPLUS']));
    expect(out.login).toBe('OK');
    expect(out.list).toEqual([
      '(\\HasNoChildren) "/" "INBOX"',
      '(\\Noselect \\HasChildren) "/" "Aliases"',
      ...[alias.address, other.address].sort().map((a) => `(\\HasNoChildren) "/" "Aliases/${a}"`),
    ]);
    expect(out.exists).toBe(3);
    expect(out.all).toEqual(['1', '2', '3']);
    expect(out.subject).toEqual(['3']);
    expect(out.utf8).toEqual(['2']);
    expect(out.headers).toEqual(['Subject: First for clients', 'Subject: Deals for clients', 'Subject: With attachment']);
    const first = (await allMessages(relay, { alias: alias.address })).find((m) => m.subject === 'First for clients')!;
    const raw = await api(relay, 'GET', `/api/messages/${first.id}/raw`);
    expect(out.raw1).toBe(Buffer.from(raw.text, 'utf8').toString('latin1'));
    expect(out.uid1).toBe(`1 (UID ${first.id})`);
    expect(out.flags2).toMatch(/^2 \(FLAGS \(\\Flagged\)\)$/);
    expect(out.bodystructure).toMatch(/^3 \(BODYSTRUCTURE \(\("text" "plain" .*\)\("text" "plain" .*"attachment" \("filename" "notes.txt"\).*\) "mixed" /);
    expect(out.addressExists).toBe(2);
    expect(out.addressList).toEqual(['(\\HasNoChildren) "/" "INBOX"']);
    expect(out.otherSelect).toBe('NO');
  });
});

describe('IMAP with curl', () => {
  const curl = (url: string, ...extra: string[]) => run('curl', ['-sS', '--max-time', '20', '-u', `${relay.user}:${relay.token}`, ...extra, url], { timeoutMs: 30_000 });

  it('lists, searches and fetches over imap:// (with and without STARTTLS) and imaps://', async () => {
    const base = `imap://127.0.0.1:${relay.ports.imap}`;
    const list = await curl(`${base}/`);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(`* LIST (\\HasNoChildren) "/" "Aliases/${alias.address}"`);

    const search = await curl(`${base}/INBOX?SUBJECT%20Deals`);
    expect(search.stdout.trim()).toBe('* SEARCH 2');

    const messages: Summary[] = await allMessages(relay, { alias: alias.address });
    const target = messages.find((m) => m.subject === 'With attachment')!;
    const raw = (await api(relay, 'GET', `/api/messages/${target.id}/raw`)).text;
    const fetched = await curl(`${base}/INBOX;UID=${target.id}`, '--ssl-reqd', '-k');
    expect(fetched.code, fetched.stderr).toBe(0);
    expect(fetched.stdout).toBe(raw);

    const box = encodeURIComponent(`Aliases/${alias.address}`);
    const secure = await curl(`imaps://127.0.0.1:${relay.ports.imaps}/${box};UID=${target.id};SECTION=TEXT`, '-k');
    expect(secure.code, secure.stderr).toBe(0);
    expect(secure.stdout).toContain('filename=notes.txt');

    const status = await curl(`${base}/`, '-X', `STATUS "Aliases/${alias.address}" (MESSAGES UNSEEN)`);
    expect(status.stdout.trim()).toMatch(new RegExp(`^\\* STATUS "Aliases/${alias.address.replace(/\./g, '\\.')}" \\(MESSAGES 2 UNSEEN \\d\\)$`));
  });
});

describe('IMAP with mbsync', () => {
  it('syncs INBOX and an address mailbox, each message identical to what was delivered', async () => {
    // .ci/run installs isync; a machine without it fails here rather than skipping in silence.
    expect(await have('mbsync'), 'mbsync is missing: apt-get install -y isync').toBe(true);
    const dir = makeTempDir('wisp-mbsync-');
    const local = path.join(dir, 'local');
    fs.mkdirSync(local);
    const rc = path.join(dir, 'mbsyncrc');
    fs.writeFileSync(
      rc,
      [
        'IMAPAccount wisp',
        'Host 127.0.0.1',
        `Port ${relay.ports.imap}`,
        `User ${relay.user}`,
        `Pass ${relay.token}`,
        'SSLType STARTTLS',
        `CertificateFile ${path.join(relay.dataDir, 'tls', 'cert.pem')}`,
        '',
        'IMAPStore remote',
        'Account wisp',
        '',
        'MaildirStore local',
        `Path ${local}/`,
        `Inbox ${local}/INBOX`,
        'SubFolders Verbatim',
        '',
        'Channel all',
        'Far :remote:',
        'Near :local:',
        'Patterns INBOX Aliases/*',
        'Sync Pull',
        'Create Near',
        'SyncState *',
        '',
      ].join('\n'),
    );
    const sync = await run('mbsync', ['-c', rc, 'all'], { timeoutMs: 60_000 });
    expect(sync.code, `${sync.stdout}\n${sync.stderr}`).toBe(0);

    // The sync state maps each far UID (our message id) to the Maildir file's U= number.
    const check = async (folder: string, expected: Summary[]) => {
      const box = path.join(local, folder);
      const state = fs.readFileSync(path.join(box, '.mbsyncstate'), 'utf8');
      const pairs = [...state.matchAll(/^(\d+) (\d+) /gm)].map((m) => [Number(m[1]), Number(m[2])] as const);
      expect(pairs.map(([far]) => far).sort((a, b) => a - b)).toEqual(expected.map((m) => Number(m.id)).sort((a, b) => a - b));
      // Unseen messages land in new/, seen ones in cur/.
      const files = ['cur', 'new'].flatMap((sub) => fs.readdirSync(path.join(box, sub)).map((f) => path.join(sub, f)));
      for (const [far, near] of pairs) {
        const file = files.find((f) => new RegExp(`,U=${near}:`).test(f));
        expect(file, `no Maildir file for far UID ${far}`).toBeTruthy();
        // mbsync makes two changes of its own: LF line endings (Maildir's), and its X-TUID
        // tracking header at the end of the header. Everything else must be the delivered bytes.
        const synced = fs.readFileSync(path.join(box, file!)).toString('latin1').replace(/^X-TUID: [^\n]*\n(?=\n)/m, '');
        const raw = Buffer.from((await api(relay, 'GET', `/api/messages/${far}/raw`)).text, 'utf8');
        expect(synced).toBe(raw.toString('latin1').replace(/\r\n/g, '\n'));
      }
    };
    await check('INBOX', await allMessages(relay));
    await check(`Aliases/${alias.address}`, await allMessages(relay, { alias: alias.address }));
    await check(`Aliases/${other.address}`, await allMessages(relay, { alias: other.address }));

    // A second run finds nothing new; new mail then arrives on the next.
    await sendMail(relay, { to: other.address, subject: 'After the first sync', text: 'new\n' });
    const again = await run('mbsync', ['-c', rc, 'all'], { timeoutMs: 60_000 });
    expect(again.code, again.stderr).toBe(0);
    await check(`Aliases/${other.address}`, await allMessages(relay, { alias: other.address }));
  });
});
