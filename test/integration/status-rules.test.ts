import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EMAIL_EVENT_TYPES,
  EMAIL_STATUSES,
  FINAL_STATUSES,
  OPEN_STATUSES,
} from '../../src/domain/email-status.js';
import { createTestDatabase } from '../support/harness.js';

/**
 * SQL that cannot take the status sets as parameters (CHECK constraints, partial index predicates,
 * PL/pgSQL) lives in immutable migrations. These checks read the migrated database and fail when
 * src/domain/email-status.ts changes and the schema does not follow (a new migration is then due).
 */
const literals = (sql: string) => [...sql.matchAll(/'([a-z_]+)'/g)].map((m) => m[1] as string);

describe('status rules in the migrated database agree with src/domain/email-status.ts', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let client: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it('the emails.status CHECK allows exactly EMAIL_STATUSES', async () => {
    const { rows } = await client.query<{ def: string }>(
      `SELECT pg_get_constraintdef(c.oid) AS def FROM pg_constraint c
        WHERE c.conrelid = 'emails'::regclass AND c.contype = 'c' AND pg_get_constraintdef(c.oid) LIKE '%status%'`,
    );
    expect(rows).toHaveLength(1);
    expect(new Set(literals(rows[0]?.def ?? ''))).toEqual(new Set(EMAIL_STATUSES));
  });

  it('every status a partial index on emails names is a status, and the lookups the workers use exist', async () => {
    const { rows } = await client.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'emails' AND indexdef LIKE '%WHERE%status%'`,
    );
    const predicates = new Map(
      rows.map((r) => [r.indexname, r.indexdef.slice(r.indexdef.indexOf(' WHERE '))]),
    );
    for (const [name, where] of predicates) {
      for (const s of literals(where)) expect(EMAIL_STATUSES, `${name}: ${where}`).toContain(s);
    }
    // The recovery and claim queries look open emails up by these indexes, one per open status.
    const single = [...predicates.values()].flatMap((w) => {
      const m = /^ WHERE \(status = '([a-z_]+)'::text\)$/.exec(w);
      return m ? [m[1]] : [];
    });
    expect(new Set(single)).toEqual(new Set(OPEN_STATUSES));
    // People look for final statuses: listing by any of them has its own index.
    const problem = literals(predicates.get('emails_tenant_problem_status_idx') ?? '');
    for (const s of FINAL_STATUSES) expect(problem).toContain(s);
  });

  it('the webhook ingest function moves statuses only as the caller says (advanceStatus), naming none', async () => {
    const { rows } = await client.query<{ def: string }>(
      `SELECT pg_get_functiondef(p.oid) AS def FROM pg_proc p WHERE p.proname = 'record_webhook_event'`,
    );
    expect(rows).toHaveLength(1);
    const def = rows[0]?.def ?? '';
    expect(def).toContain('SET status = p_transitions ->> e.status');
    expect(literals(def).filter((s) => (EMAIL_STATUSES as readonly string[]).includes(s))).toEqual([]);
  });

  it('the triggers that count and publish events name only event types that exist', async () => {
    const { rows } = await client.query<{ proname: string; def: string }>(
      `SELECT p.proname, pg_get_functiondef(p.oid) AS def FROM pg_proc p
        WHERE p.proname IN ('analytics_capture_events', 'webhook_event_type')`,
    );
    expect(rows.map((r) => r.proname).sort()).toEqual(['analytics_capture_events', 'webhook_event_type']);
    for (const { proname, def } of rows) {
      const types = [
        ...[...def.matchAll(/WHEN '([a-z_]+)' THEN/g)].map((m) => m[1] as string),
        ...[...def.matchAll(/n\.type (?:=|<>) '([a-z_]+)'/g)].map((m) => m[1] as string),
        ...[...def.matchAll(/n\.type IN \(([^)]*)\)/g)].flatMap((m) => literals(m[1] ?? '')),
      ];
      expect(types.length, proname).toBeGreaterThan(0);
      for (const t of types) expect(EMAIL_EVENT_TYPES, `${proname} names '${t}'`).toContain(t);
    }
  });
});
