import { AppError } from '../domain/errors.js';
import { isUuid } from '../lib/ids.js';

/**
 * Keyset cursors: an opaque token carrying the sort key of the last row returned
 * (`created_at` at full microsecond precision, as PostgreSQL prints it, and a tiebreaker).
 */
export interface CursorKey {
  ts: string;
  id: string;
}

const TS_RE = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:?\d{2})?|Z)$/;

/** A time PostgreSQL will accept: the pattern alone lets through month 13 or hour 99. */
function isRealTime(ts: string): boolean {
  const iso = ts.replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00');
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return false;
  const year = new Date(t).getUTCFullYear();
  return year >= 1970 && year <= 9999;
}

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify([key.ts, key.id])).toString('base64url');
}

/** Decodes a cursor; anything this API did not issue is a 400, never a database error. */
export function decodeCursor(cursor: string | undefined, idKind: 'uuid' | 'text' = 'uuid'): CursorKey | null {
  if (cursor === undefined || cursor === '') return null;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 2) {
      const [ts, id] = parsed as unknown[];
      if (
        typeof ts === 'string' &&
        TS_RE.test(ts) &&
        isRealTime(ts) &&
        typeof id === 'string' &&
        (idKind === 'uuid' ? isUuid(id) : id.length > 0 && id.length <= 320)
      ) {
        return { ts, id };
      }
    }
  } catch {
    // fall through
  }
  throw new AppError('invalid_cursor');
}

/** Builds `{items, next_cursor}` from `limit + 1` fetched rows. */
export function page<R extends { cursor_ts: string }, T>(
  rows: R[],
  limit: number,
  idOf: (r: R) => string,
  map: (r: R) => T,
): { items: T[]; next_cursor: string | null } {
  const more = rows.length > limit;
  const slice = more ? rows.slice(0, limit) : rows;
  const last = slice[slice.length - 1];
  return {
    items: slice.map(map),
    next_cursor: more && last ? encodeCursor({ ts: last.cursor_ts, id: idOf(last) }) : null,
  };
}
