/**
 * Database port. Repositories speak plain SQL through this interface only, so a `pg` pool and an
 * embedded PostgreSQL (PGlite) can stand behind it without touching a repository or a service.
 *
 * Contract: `query` runs one statement with positional parameters ($1…) and returns its rows;
 * `transaction` runs `fn` on one connection between BEGIN and COMMIT, rolls back when `fn` throws
 * and rethrows; nested calls on a transaction's Queryable are not supported.
 */
export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
}

export interface Database extends Queryable {
  /**
   * `query` for a hot statement whose plan cannot go stale: every other statement is planned
   * again at each execution, for the tables as they are now (pg.database.ts); this one keeps its
   * plan for the connection, and so do the foreign-key checks its writes fire, which would
   * otherwise be planned once per row. No plan made for it may be a sequential scan. Forbidding
   * sequential scans does not forbid a wrong index: only for statements that read no table but
   * by a unique key (docs/performance.md, "Bulk accept and fan-out").
   */
  queryKeptPlans<R = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<QueryResult<R>>;
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` only if this process wins the named lock among every process sharing the database
   * (a PostgreSQL advisory lock held for the duration); resolves null without running it when
   * another process holds it. `fn` uses the database normally (not inside the lock's transaction).
   */
  withLock<T>(key: number, fn: () => Promise<T>): Promise<T | null>;
  /** Resolves when the server answers within `timeoutMs`. */
  ping(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** SQLSTATEs the services react to. */
export const PG_UNIQUE_VIOLATION = '23505';
export const PG_FOREIGN_KEY_VIOLATION = '23503';
export const PG_SERIALIZATION_FAILURE = '40001';

export function pgErrorCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string'
    ? e.code
    : undefined;
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * Whether an error says the database went away (refused, reset, shut down, unreachable) rather
 * than refusing a statement: SQLSTATE classes 08 (connection exception) and 57P (operator
 * intervention: shutdown, crash, cannot connect now), socket errors, pg's "Connection terminated".
 */
export function isConnectionError(e: unknown): boolean {
  const code = pgErrorCode(e);
  if (code && (code.startsWith('08') || code.startsWith('57P') || CONNECTION_CODES.has(code))) return true;
  const message = e instanceof Error ? e.message : '';
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    message,
  );
}
