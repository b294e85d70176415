// DKIM signatures (RFC 6376) on outgoing mail, made once when a message is queued so that every
// retry sends the same bytes.
import { dkimSign } from 'mailauth/lib/dkim/sign.js';

export interface SigningKey {
  selector: string;
  /** PEM. */
  privateKey: string;
}

/** The message with a DKIM-Signature field for `domain` in front. */
export async function signMessage(raw: Buffer, domain: string, key: SigningKey): Promise<Buffer> {
  const signature = { signingDomain: domain, selector: key.selector, privateKey: key.privateKey };
  // mailauth signs only what signatureData lists; the top-level fields are defaults.
  const result = await dkimSign(raw, { ...signature, canonicalization: 'relaxed/relaxed', algorithm: 'rsa-sha256', signatureData: [signature] });
  const failure = result.errors?.[0];
  if (failure) throw failure instanceof Error ? failure : new Error(`DKIM signing failed: ${JSON.stringify(failure)}`);
  if (!result.signatures.startsWith('DKIM-Signature:')) throw new Error('DKIM signing produced no signature');
  return Buffer.concat([Buffer.from(result.signatures, 'latin1'), raw]);
}
