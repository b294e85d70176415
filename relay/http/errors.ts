// The one place errors become HTTP replies. Clients get a sentence, never a stack trace.
import { WispError } from '../core/errors.ts';
import type { ErrorKind } from '../core/errors.ts';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const STATUS: Record<ErrorKind, number> = {
  invalid: 400,
  unauthorized: 401,
  'not-found': 404,
  conflict: 409,
  'rate-limited': 429,
};

/** Maps any thrown value to a status, headers and a message; unknown errors say only "internal". */
export function toHttpError(err: unknown): HttpError | null {
  if (err instanceof HttpError) return err;
  if (err instanceof WispError) {
    return new HttpError(STATUS[err.kind], err.message, err.retryAfter ? { 'retry-after': String(err.retryAfter) } : {});
  }
  return null;
}

export const badRequest = (message: string) => new HttpError(400, message);
