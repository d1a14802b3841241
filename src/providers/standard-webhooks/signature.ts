import { createHmac, timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { checkTimestamp, utf8Text } from '../webhook-verifier.js';

/** Standard Webhooks: a timestamp more than five minutes off is refused. */
export const STANDARD_WEBHOOKS_TOLERANCE_SECONDS = 300;

/**
 * The HMAC key of a `WEBHOOK_SECRET_*`: a `whsec_` secret is base64 after the prefix (as Standard
 * Webhooks and Svix issue them); any other secret is its UTF-8 bytes. Null when nothing is left.
 */
export function standardWebhooksKey(secret: string): Buffer | null {
  if (secret.startsWith('whsec_')) {
    const b64 = secret.slice('whsec_'.length);
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return null;
    const key = Buffer.from(b64, 'base64');
    return key.length > 0 ? key : null;
  }
  const key = Buffer.from(secret, 'utf8');
  return key.length > 0 ? key : null;
}

export interface SignatureHeaders {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/**
 * Checks `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>` (several space-separated
 * signatures allowed), as the `standardwebhooks` package does, with Node's own HMAC: the package
 * hashes in JavaScript, which was a tenth of the API's CPU time per webhook request (its signer
 * still makes the signatures of tests, benches and clients, so the two are checked against each
 * other). The body is decoded strictly first, so a body that is not UTF-8 is refused instead of
 * being hashed lossily.
 */
export function createStandardWebhooksChecker(key: Buffer) {
  return (headers: SignatureHeaders, rawBody: Buffer, nowMs = Date.now()): SignatureCheck => {
    if (!headers.id || !headers.signature) return { ok: false, reason: 'signature headers are missing' };
    if (headers.id.length > 256 || headers.signature.length > 4096) {
      return { ok: false, reason: 'signature headers are too long' };
    }
    const ts = checkTimestamp(headers.timestamp, STANDARD_WEBHOOKS_TOLERANCE_SECONDS, nowMs);
    if (!ts.ok) return ts;
    const body = utf8Text(rawBody);
    if (body === null) return { ok: false, reason: 'the body is not UTF-8, so it cannot be the signed text' };
    const expected = Buffer.from(
      createHmac('sha256', key).update(`${headers.id}.${ts.seconds}.${body}`, 'utf8').digest('base64'),
    );
    for (const versioned of headers.signature.split(' ')) {
      const [version, signature] = versioned.split(',');
      if (version !== 'v1' || signature === undefined) continue;
      const given = Buffer.from(signature);
      if (given.length === expected.length && timingSafeEqual(given, expected)) return { ok: true };
    }
    return { ok: false, reason: 'no signature matches' };
  };
}

/** Signs like a sender does: the value of `webhook-signature` (used by tests, benchmarks, clients). */
export function signStandardWebhook(key: Buffer, id: string, timestampSeconds: number, body: string): string {
  return new Webhook(key, { format: 'raw' }).sign(id, new Date(timestampSeconds * 1000), body);
}
