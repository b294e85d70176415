// Domain errors: each carries a sentence for the user and a kind the interfaces map to their own
// replies (HTTP status, SMTP code) in one place each.
export type ErrorKind = 'invalid' | 'not-found' | 'conflict' | 'rate-limited' | 'unauthorized';

export class WispError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    /** Seconds a client should wait, for rate-limited errors. */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'WispError';
  }
}

export const invalid = (message: string) => new WispError('invalid', message);
export const notFound = (message: string) => new WispError('not-found', message);
