import { createHash, randomBytes, randomUUID } from 'node:crypto';

export const newId = (): string => randomUUID();

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Ids in URLs are checked before they reach SQL, so a malformed id is simply "not found". */
export const isUuid = (s: string): boolean => UUID_RE.test(s);

export const randomToken = (bytes: number): string => randomBytes(bytes).toString('base64url');

/**
 * A UUID derived from a name (RFC 9562 version 8, SHA-256 based): the same name always gives the
 * same id, so a step that is repeated after a crash writes the same rows again, not new ones.
 */
export function derivedUuid(name: string): string {
  const b = createHash('sha256').update(name).digest();
  b[6] = ((b[6] as number) & 0x0f) | 0x80;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const h = b.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
