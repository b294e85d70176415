// The DKIM key outgoing mail is signed with: an RSA 2048 key made in DATA/dkim on first start (or
// by `wisp-relay dkim`), one selector for every served domain, and the DNS records to publish.
import { createPublicKey, generateKeyPair } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

export const DKIM_SELECTOR = 'wisp';

export interface DkimKey {
  selector: string;
  /** PKCS#8 PEM. */
  privateKey: string;
  /** The public key as the record's p= tag: base64 of its SubjectPublicKeyInfo. */
  publicKey: string;
  /** True when the key was made just now. */
  generated: boolean;
  keyPath: string;
}

export interface DkimRecord {
  /** The TXT record's owner name, e.g. `wisp._domainkey.example.com`. */
  name: string;
  /** The record's text, e.g. `v=DKIM1; k=rsa; p=MIIB…`. */
  value: string;
}

export async function loadDkimKey(dataDir: string, selector = DKIM_SELECTOR): Promise<DkimKey> {
  const keyPath = path.join(dataDir, 'dkim', `${selector}.key`);
  let privateKey: string;
  let generated = false;
  try {
    privateKey = await fs.readFile(keyPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read the DKIM key ${keyPath}: ${(error as Error).message}`, { cause: error });
    const pair = await promisify(generateKeyPair)('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    privateKey = pair.privateKey;
    await fs.mkdir(path.dirname(keyPath), { recursive: true, mode: 0o700 });
    // wx: two relays starting at once on one data directory must not each write a different key.
    try {
      await fs.writeFile(keyPath, privateKey, { mode: 0o600, flag: 'wx' });
      generated = true;
    } catch (writeError) {
      if ((writeError as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError;
      privateKey = await fs.readFile(keyPath, 'utf8');
    }
  }
  const publicKey = createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).toString('base64');
  return { selector, privateKey, publicKey, generated, keyPath };
}

export function dkimRecords(key: Pick<DkimKey, 'selector' | 'publicKey'>, domains: string[]): DkimRecord[] {
  return domains.map((domain) => ({ name: `${key.selector}._domainkey.${domain}`, value: `v=DKIM1; k=rsa; p=${key.publicKey}` }));
}

/**
 * The record as a zone-file line. A TXT string holds at most 255 bytes, so the value is split into
 * several quoted strings, which resolvers join back together.
 */
export function zoneLine(record: DkimRecord): string {
  const chunks: string[] = [];
  for (let i = 0; i < record.value.length; i += 250) chunks.push(`"${record.value.slice(i, i + 250)}"`);
  return `${record.name}. IN TXT ( ${chunks.join(' ')} )`;
}
