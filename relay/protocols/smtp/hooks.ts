// What both smtp-server adapters (inbound, submission) need in their hooks.
import type { SMTPServerDataStream } from 'smtp-server';

/** An error smtp-server answers with its own reply code instead of a generic 4xx/5xx. */
export type SmtpError = Error & { responseCode: number };

export function smtpError(responseCode: number, message: string): SmtpError {
  return Object.assign(new Error(message), { responseCode });
}

/** Reads DATA to the end; past the size limit it keeps draining but stops keeping bytes. */
export function readMessage(stream: SMTPServerDataStream, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    stream.on('end', () => resolve(stream.sizeExceeded || size > limit ? null : Buffer.concat(chunks, size)));
    stream.on('error', reject);
  });
}
