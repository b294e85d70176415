// The HTTP listener: route table, token check, JSON bodies, and one error path.
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Users } from '../core/users.ts';
import type { User } from '../core/ports.ts';
import { RateLimiter } from '../core/rate-limit.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { HttpError, badRequest, toHttpError } from './errors.ts';
import type { Reply, Router } from './router.ts';

const MAX_BODY = 64 * 1024;

export interface HttpDeps {
  router: Router;
  users: Users;
  /** Shared with the WebSocket: failed token checks per client address. */
  authFailures: RateLimiter;
  log: Logger;
  metrics: Metrics;
  maxConnections: number;
}

/** Failed token checks allowed per client address per minute, before 429. */
export const AUTH_FAILURES_PER_MINUTE = 30;

export function createAuthFailureLimiter(): RateLimiter {
  return new RateLimiter({ count: AUTH_FAILURES_PER_MINUTE, windowSeconds: 60 });
}

/** Past this the connection is cut rather than drained: a client that sends so much is not a browser. */
const MAX_DRAIN = 8 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // An oversized body is drained, not kept, so the client still reads its 413.
      if (size <= MAX_BODY) chunks.push(chunk);
      else if (size > MAX_DRAIN) req.destroy();
    });
    req.on('error', reject);
    req.on('end', () => {
      if (size > MAX_BODY) return reject(new HttpError(413, `The request body is larger than ${MAX_BODY} bytes.`, { connection: 'close' }));
      const text = Buffer.concat(chunks).toString('utf8').trim();
      if (!text) return resolve({});
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        return reject(badRequest('The request body is not valid JSON.'));
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        return reject(badRequest('The request body must be a JSON object.'));
      }
      resolve(value as Record<string, unknown>);
    });
  });
}

export function bearerToken(req: IncomingMessage): string | null {
  const header = req.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? (m[1] as string) : null;
}

function send(res: ServerResponse, reply: NonNullable<Reply>, headers: Record<string, string> = {}): void {
  res.setHeader('cache-control', 'no-store');
  res.setHeader('x-content-type-options', 'nosniff');
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  if (reply.json !== undefined) {
    res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(reply.json));
  } else if (reply.text !== undefined) {
    res.writeHead(reply.status, { 'content-type': reply.type ?? 'text/plain; charset=utf-8' });
    res.end(reply.text);
  } else {
    res.writeHead(reply.status);
    res.end();
  }
}

export function createHttpServer(deps: HttpDeps): http.Server {
  const { router, users, authFailures, log, metrics } = deps;

  // A good token always works, so nobody can lock its owner out by failing from the same address;
  // bad ones past the limit get 429 instead of 401.
  async function authenticate(req: IncomingMessage): Promise<User> {
    const user = await users.authenticate(bearerToken(req));
    if (user) return user;
    const wait = authFailures.take(req.socket.remoteAddress ?? '');
    if (wait > 0) throw new HttpError(429, `Too many failed logins: try again in ${wait} seconds.`, { 'retry-after': String(wait) });
    throw new HttpError(401, 'A valid token is needed: send "Authorization: Bearer TOKEN".', { 'www-authenticate': 'Bearer' });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://relay');
    const found = router.match(req.method ?? 'GET', url.pathname);
    if (!found) throw new HttpError(404, `There is nothing at ${url.pathname}.`);
    if ('allowed' in found) throw new HttpError(405, `${req.method} is not allowed here.`, { allow: found.allowed.join(', ') });
    const { route, params } = found;
    const user = route.public ? null : await authenticate(req);
    let body: Promise<Record<string, unknown>> | null = null;
    const reply = await route.handler({
      req,
      res,
      url,
      params,
      // A public route has no user: reading one there is a bug, and says so loudly.
      get user(): User {
        if (!user) throw new Error(`${route.pattern} is public and has no user`);
        return user;
      },
      body: () => (body ??= readBody(req)),
    });
    if (reply) send(res, reply);
  }

  const server = http.createServer((req, res) => {
    handle(req, res)
      .catch((err: unknown) => {
        const httpError = toHttpError(err);
        if (!httpError) log.error({ err, method: req.method, url: req.url }, 'request failed');
        const e = httpError ?? new HttpError(500, 'The relay failed to handle this request.');
        if (!res.headersSent) send(res, { status: e.status, json: { error: e.message } }, e.headers);
        else res.destroy();
      })
      .finally(() => metrics.httpRequests.inc({ status: `${Math.floor(res.statusCode / 100)}xx` }));
  });
  server.maxConnections = deps.maxConnections;
  server.headersTimeout = 20_000;
  server.requestTimeout = 30_000;
  // A malformed request gets a 400 and the connection closes; the server goes on.
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-type: application/json\r\n\r\n{"error":"The request is malformed."}');
    else socket.destroy();
  });
  return server;
}
