// What the IMAP and POP3 benchmarks share to run a throwaway Dovecot: a free loopback port, its
// Maildir, passwd-file and config in a temporary directory (no system service), and the wait for
// it to listen.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const DOVECOT = '/usr/sbin/dovecot';

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once `port` takes connections; `what` says why not when it never does. */
export async function waitForPort(port: number, timeoutMs: number, what?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) return;
    if (Date.now() > deadline) throw new Error(what ? `dovecot did not start: ${what()}` : 'dovecot did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface DovecotSetup {
  /** Protocols served, as in `protocols = …`. */
  protocol: 'imap' | 'pop3';
  /** As in `auth_mechanisms = …`. */
  authMechanisms: string;
  /** The Maildir file name and bytes of the i-th message. */
  file(message: Buffer, i: number): { name: string; bytes: Buffer };
  /** The `service …-login` block that listens on `port`. */
  service(port: number): string;
}

/**
 * Writes the Maildir (user `bench`, password `secret`), the passwd-file and the config into `dir`;
 * returns the config file and the port Dovecot is to listen on, without TLS.
 */
export async function prepareDovecot(dir: string, messages: Buffer[], setup: DovecotSetup): Promise<{ conf: string; port: number }> {
  chmodSync(dir, 0o755);
  const maildir = path.join(dir, 'mail', 'bench');
  for (const sub of ['cur', 'new', 'tmp']) mkdirSync(path.join(maildir, sub), { recursive: true });
  messages.forEach((m, i) => {
    const { name, bytes } = setup.file(m, i);
    writeFileSync(path.join(maildir, 'cur', name), bytes);
  });
  const nobody = Number(execFileSync('id', ['-u', 'nobody']).toString().trim());
  const nogroup = Number(execFileSync('id', ['-g', 'nobody']).toString().trim());
  // Dovecot never serves mail as root: the mail belongs to nobody.
  execFileSync('chown', ['-R', `${nobody}:${nogroup}`, path.join(dir, 'mail')]);
  writeFileSync(path.join(dir, 'passwd'), 'bench:{PLAIN}secret\n');
  const port = await freePort();
  const conf = path.join(dir, 'dovecot.conf');
  writeFileSync(
    conf,
    `base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
protocols = ${setup.protocol}
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = ${setup.authMechanisms}
mail_location = maildir:${dir}/mail/%u
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = 1
passdb {
  driver = passwd-file
  args = scheme=PLAIN ${dir}/passwd
}
userdb {
  driver = static
  args = uid=${nobody} gid=${nogroup} home=${dir}/home/%u
}
${setup.service(port)}`,
  );
  return { conf, port };
}
