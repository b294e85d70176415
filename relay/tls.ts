// The TLS identity every listener offers: the configured pair, or a self-signed pair made in the
// data directory on first start (naming localhost, this machine and every served domain).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface TlsIdentity {
  key: Buffer;
  cert: Buffer;
  /** True when the pair was made just now. */
  generated: boolean;
  certPath: string;
}

async function readIfExists(file: string): Promise<Buffer | null> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export async function loadTlsIdentity(opts: { dataDir: string; certFile: string | null; keyFile: string | null; domains: string[] }): Promise<TlsIdentity> {
  if (opts.certFile && opts.keyFile) {
    const [cert, key] = await Promise.all([fs.readFile(opts.certFile), fs.readFile(opts.keyFile)]).catch((err: Error) => {
      throw new Error(`cannot read the TLS certificate or key: ${err.message}`);
    });
    return { key, cert, generated: false, certPath: opts.certFile };
  }
  const dir = path.join(opts.dataDir, 'tls');
  const certPath = path.join(dir, 'cert.pem');
  const keyPath = path.join(dir, 'key.pem');
  const [cert, key] = await Promise.all([readIfExists(certPath), readIfExists(keyPath)]);
  if (cert && key) return { key, cert, generated: false, certPath };

  const names = [...new Set(['localhost', os.hostname(), ...opts.domains, ...opts.domains.map((d) => `*.${d}`)])];
  // Loaded only when a pair is made: the X.509 libraries are large and most starts never need them.
  const { default: selfsigned } = await import('selfsigned');
  const pems = await selfsigned.generate([{ name: 'commonName', value: opts.domains[0] ?? 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    notAfterDate: new Date(Date.now() + 3650 * 86_400_000),
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [...names.map((value) => ({ type: 2 as const, value })), { type: 7 as const, ip: '127.0.0.1' }, { type: 7 as const, ip: '::1' }] },
    ],
  });
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await fs.writeFile(keyPath, pems.private, { mode: 0o600 });
  await fs.writeFile(certPath, pems.cert);
  return { key: Buffer.from(pems.private), cert: Buffer.from(pems.cert), generated: true, certPath };
}
