import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Authenticated encryption of small secrets at rest: AES-256-GCM with a random 96-bit IV.
 * A sealed box is `0x01 ‖ iv (12) ‖ tag (16) ‖ ciphertext`. `context` is bound as additional
 * data, so a box copied onto another row (another tenant's, another selector) does not open.
 */
const VERSION = 0x01;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export const SECRET_KEY_BYTES = 32;

export function seal(key: Buffer, plaintext: Buffer | string, context: string): Buffer {
  if (key.length !== SECRET_KEY_BYTES) throw new Error('the sealing key must be 32 bytes');
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.of(VERSION), iv, cipher.getAuthTag(), body]);
}

/** The plaintext; throws when the box was sealed with another key or context, or was altered. */
export function open(key: Buffer, box: Buffer, context: string): Buffer {
  if (box.length < 1 + IV_BYTES + TAG_BYTES || box[0] !== VERSION) throw new Error('not a sealed box');
  const iv = box.subarray(1, 1 + IV_BYTES);
  const tag = box.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(box.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
}

/** A short public name for a key (which key sealed a box), never enough to guess it. */
export const keyFingerprint = (key: Buffer): string =>
  createHash('sha256').update('mailsystem-secret-key').update(key).digest('hex').slice(0, 12);
