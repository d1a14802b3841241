import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { createPgDatabase } from '../../src/db/pg.database.js';
import { webhooksRepository } from '../../src/db/webhooks.repository.js';
import { webhookEffect } from '../../src/services/webhooks.service.js';
import { createTestDatabase } from '../support/harness.js';

/**
 * Provider events that arrive together share one statement (docs/webhooks.md, "Grouping"). What
 * the callers see must be what they saw when each event had its own transaction.
 */
describe('provider webhook events written together', () => {
  let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Database;
  let emailId: string;
  const template = randomUUID();

  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = createPgDatabase(testDb.url, { max: 4 });
    await db.query("INSERT INTO tenants (id, name) VALUES ('b', 'B')");
    await db.query("INSERT INTO templates (id, tenant_id, name) VALUES ($1, 'b', 't')", [template]);
    await db.query(
      `INSERT INTO template_versions (template_id, version, tenant_id, subject_template, html_template)
       VALUES ($1, 1, 'b', 's', 'h')`,
      [template],
    );
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO emails (id, tenant_id, template_id, template_version, recipient_email, status, provider, message_id)
       VALUES (gen_random_uuid(), 'b', $1, 1, 'batch@example.com', 'sent', 'mock', '<batch@test>') RETURNING id`,
      [template],
    );
    emailId = rows[0]?.id as string;
  });
  afterAll(async () => {
    await db?.close();
    await testDb?.drop();
  });

  const event = (eventId: string, type: 'delivered' | 'opened', payload: unknown = { n: 1 }) => ({
    incoming: {
      provider: 'mock',
      providerEventId: eventId,
      providerType: type,
      emailId,
      providerMessageId: null,
      occurredAt: new Date(),
      payload,
    },
    effect: webhookEffect('mock', {
      eventId,
      providerType: type,
      type,
      emailId,
      providerMessageId: null,
      occurredAt: new Date(),
      data: {},
      payload,
    }),
  });

  it('stores a replay that arrives with its original once, applies precedence and answers each', async () => {
    const repo = webhooksRepository(db);
    const events = [
      event('a', 'opened'),
      event('b', 'delivered'),
      event('a', 'opened'),
      event('c', 'delivered'),
    ];
    const results = await Promise.all(events.map((e) => repo.record(e.incoming, e.effect)));
    expect(results.map((r) => r.duplicate)).toEqual([false, false, true, false]);
    expect(results.every((r) => r.emailId === emailId && r.tenantId === 'b')).toBe(true);
    const { rows } = await db.query<{ type: string; template_id: string }>(
      'SELECT type, template_id FROM email_events WHERE email_id = $1 ORDER BY id',
      [emailId],
    );
    expect(rows).toEqual([
      { type: 'opened', template_id: template },
      { type: 'delivered', template_id: template },
      { type: 'delivered', template_id: template },
    ]);
    const email = await db.query<{ status: string }>('SELECT status FROM emails WHERE id = $1', [emailId]);
    expect(email.rows[0]?.status).toBe('opened');
  });

  it('fails only the event PostgreSQL refuses when it arrives with others', async () => {
    const repo = webhooksRepository(db);
    // jsonb cannot hold U+0000: the statement the three would share fails as a whole.
    const bad = event('bad', 'delivered', { text: 'nul \u0000 here' });
    const outcomes = await Promise.allSettled(
      [event('d', 'delivered'), bad, event('e', 'delivered')].map((e) => repo.record(e.incoming, e.effect)),
    );
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const { rows } = await db.query<{ provider_event_id: string }>(
      `SELECT provider_event_id FROM provider_webhook_events WHERE provider_event_id IN ('d', 'bad', 'e')
        ORDER BY 1`,
    );
    expect(rows.map((r) => r.provider_event_id)).toEqual(['d', 'e']);
  });
});
