import { randomBytes, randomUUID } from 'node:crypto';

export const newId = (): string => randomUUID();

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Ids in URLs are checked before they reach SQL, so a malformed id is simply "not found". */
export const isUuid = (s: string): boolean => UUID_RE.test(s);

export const randomToken = (bytes: number): string => randomBytes(bytes).toString('base64url');
