// A small route table: method + path pattern → handler. Path parameters are `{name}` segments.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { User } from '../core/ports.ts';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
  /** Set for routes that require a token. */
  user: User;
  /** The request's JSON body (parsed lazily; {} when empty). */
  body(): Promise<Record<string, unknown>>;
}

export type Reply = { status: number; json?: unknown; text?: string | Buffer; type?: string } | null;
export type Handler = (ctx: RequestContext) => Promise<Reply> | Reply;

export interface Route {
  method: string;
  pattern: string;
  /** Public routes need no token. */
  public?: boolean;
  handler: Handler;
}

interface CompiledRoute extends Route {
  regex: RegExp;
  names: string[];
}

export class Router {
  private routes: CompiledRoute[] = [];

  add(...routes: Route[]): this {
    for (const route of routes) {
      const names: string[] = [];
      const source = route.pattern.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_m, name: string) => {
        names.push(name);
        return '([^/]+)';
      });
      this.routes.push({ ...route, regex: new RegExp(`^${source}$`), names });
    }
    return this;
  }

  /** The matching route, or which methods the path allows (for 405), or nothing (404). */
  match(method: string, pathname: string): { route: CompiledRoute; params: Record<string, string> } | { allowed: string[] } | null {
    const allowed: string[] = [];
    for (const route of this.routes) {
      const m = route.regex.exec(pathname);
      if (!m) continue;
      if (route.method !== method && !(method === 'HEAD' && route.method === 'GET')) {
        allowed.push(route.method);
        continue;
      }
      const params: Record<string, string> = {};
      route.names.forEach((name, i) => {
        params[name] = decodeURIComponent(m[i + 1] as string);
      });
      return { route, params };
    }
    return allowed.length ? { allowed } : null;
  }
}
