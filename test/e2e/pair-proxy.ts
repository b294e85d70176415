// The relay's /pair page in front of a running relay: serves relay/http/routes/pair.ts itself and
// passes everything else (HTTP and the WebSocket upgrade) through to the relay. Used while the
// relay binary does not serve /pair itself; when it does, the tests use the relay directly.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { Router } from '../../relay/http/router.ts';
import type { RequestContext } from '../../relay/http/router.ts';
import { pairRoutes } from '../../relay/http/routes/pair.ts';

export interface PairFront {
  url: string;
  close(): Promise<void>;
}

/** The base URL that serves /pair for this relay: the relay itself if it can, else a front. */
export async function pairBase(relayHttp: string): Promise<PairFront> {
  const own = await fetch(`${relayHttp}/pair`).then((r) => r.status === 200 && (r.headers.get('content-type') ?? '').includes('html'), () => false);
  if (own) return { url: relayHttp, close: async () => undefined };
  const target = new URL(relayHttp);
  const router = new Router().add(...pairRoutes());
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://front');
    const found = router.match(req.method ?? 'GET', url.pathname);
    if (found && 'route' in found) {
      void found.route.handler({ req, res, url, params: found.params, user: null as unknown as RequestContext['user'], body: async () => ({}) });
      return;
    }
    const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  const tunnels = new Set<Duplex>();
  server.on('upgrade', (req, socket, head) => {
    tunnels.add(socket);
    socket.on('close', () => tunnels.delete(socket));
    const up = net.connect(Number(target.port), target.hostname, () => {
      let raw = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) raw += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      up.write(raw + '\r\n');
      if (head.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    tunnels.add(up);
    up.on('close', () => tunnels.delete(up));
    const end = () => {
      up.destroy();
      socket.destroy();
    };
    up.on('error', end);
    socket.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        for (const t of tunnels) t.destroy();
        server.close(() => resolve());
      }),
  };
}
