import { createHash } from 'node:crypto';
import pg from 'pg';
import { withTimeout } from '../lib/time.js';
import type { Database, Queryable, QueryResult } from './database.js';

// Return int8 (bigserial ids, count(*)) as JS numbers: our counts stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));

export interface PgOptions {
  max?: number;
  statementTimeoutMs?: number;
  applicationName?: string;
}

/** Connection settings of the pool that runs `queryKeptPlans` (see below). */
export const KEPT_PLANS_OPTIONS = '-c plan_cache_mode=auto -c enable_seqscan=off';

/** A `pg` connection pool behind the Database port. */
export function createPgDatabase(url: string, opts: PgOptions = {}): Database {
  const max = opts.max ?? 20;
  const settings = {
    connectionString: url,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
    application_name: opts.applicationName ?? 'mailsystem',
    ...(opts.statementTimeoutMs ? { statement_timeout: opts.statementTimeoutMs } : {}),
  };
  // `queryKeptPlans` has connections of its own, opened at its first use (a process that accepts
  // mail), up to half of `max` more: there a plan is made once per connection and kept
  // (plan_cache_mode = auto), and no plan may be a sequential scan; each foreign-key check of a
  // write is not planned again per row (docs/performance.md, "Bulk accept and fan-out").
  let kept: pg.Pool | null = null;
  const keptPool = () => {
    if (!kept) {
      kept = new pg.Pool({ ...settings, max: Math.max(1, Math.floor(max / 2)), options: KEPT_PLANS_OPTIONS });
      kept.on('error', () => {});
    }
    return kept;
  };
  const pool = new pg.Pool({
    ...settings,
    max,
    // Every execution of a prepared statement is planned for its parameters and the tables' current
    // size. PostgreSQL would otherwise switch a statement to a generic plan after five executions
    // and keep it for the connection's life: planned while `emails` was small (a fresh install,
    // or autovacuum off or not yet run, so no ANALYZE ever invalidates it), a claim or a lookup
    // would stay a scan of `emails` as the table grows (docs/performance.md, "Stale statistics").
    options: '-c plan_cache_mode=force_custom_plan',
  });
  // A dropped idle connection (PostgreSQL restart) must not crash the process; the next query
  // gets a fresh connection.
  pool.on('error', () => {});

  /**
   * A client checked out of the pool has no 'error' listener of pg-pool's own: PostgreSQL going
   * away (57P01 "terminating connection due to administrator command", a reset socket) would be
   * an unhandled 'error' event and end the process. The query in flight fails on its own; the
   * listener only keeps the event from crashing, and the broken client is destroyed on release.
   */
  const checkout = async () => {
    const client = await pool.connect();
    let broken: Error | undefined;
    const onError = (e: Error) => {
      broken = e;
    };
    client.on('error', onError);
    return {
      client,
      release() {
        client.off('error', onError);
        client.release(broken ?? undefined);
      },
    };
  };

  const run = async <R>(c: pg.Pool | pg.PoolClient, sql: string, params?: readonly unknown[]) => {
    // Statements with parameters are prepared once per connection under a name derived from their
    // text: the hot paths (claim, outcome, webhook) then skip parsing every time (not planning: see
    // plan_cache_mode above).
    const res =
      params && params.length > 0
        ? await c.query({ name: statementName(sql), text: sql, values: params as unknown[] })
        : await c.query(sql);
    return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 } satisfies QueryResult<R>;
  };

  return {
    query: (sql, params) => run(pool, sql, params),
    queryKeptPlans: (sql, params) => run(keptPool(), sql, params),
    async transaction(fn) {
      const { client, release } = await checkout();
      try {
        await client.query('BEGIN');
        const tx: Queryable = { query: (sql, params) => run(client, sql, params) };
        const result = await fn(tx);
        await client.query('COMMIT');
        return result;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {});
        throw e;
      } finally {
        release();
      }
    },
    async withLock(key, fn) {
      // The lock lives in a transaction on a connection of its own, so it ends with that
      // transaction even if this process dies, and `fn` is free to use the rest of the pool.
      const { client, release } = await checkout();
      try {
        await client.query('BEGIN');
        const { rows } = await client.query<{ locked: boolean }>(
          'SELECT pg_try_advisory_xact_lock($1) AS locked',
          [key],
        );
        if (!rows[0]?.locked) return null;
        return await fn();
      } finally {
        await client.query('ROLLBACK').catch(() => {});
        release();
      }
    },
    async ping(timeoutMs = 2000) {
      await withTimeout(pool.query('SELECT 1'), timeoutMs, 'PostgreSQL did not answer');
    },
    async close() {
      await Promise.all([pool.end(), kept?.end()]);
    },
  };
}

const names = new Map<string, string>();
/** The name under which a statement's text is prepared on each connection. */
export function statementName(sql: string): string {
  let name = names.get(sql);
  if (!name) {
    name = `ms_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`;
    if (names.size < 10_000) names.set(sql, name);
  }
  return name;
}
