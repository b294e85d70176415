// The client side of STARTTLS / STLS for the raw-socket test clients.
import type net from 'node:net';
import tls from 'node:tls';

/**
 * Starts TLS on `plain` once the server has agreed to it (self-signed certificates accepted). The
 * plain socket's 'data' and 'close' listeners are dropped: from here on only the TLS socket speaks.
 */
export async function upgradeToTls(plain: net.Socket, servername?: string): Promise<tls.TLSSocket> {
  plain.removeAllListeners('data');
  plain.removeAllListeners('close');
  const secure = tls.connect({ socket: plain, rejectUnauthorized: false, ...(servername === undefined ? {} : { servername }) });
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', () => resolve());
    secure.once('error', reject);
  });
  return secure;
}
