import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboundWebhooksRepository } from '../../src/db/outbound-webhooks.repository.js';
import { newId } from '../../src/lib/ids.js';
import { type ServiceDb, seedTenant, serviceDb } from '../support/services.js';

describe('webhook delivery log retention', () => {
  let s: ServiceDb;
  beforeAll(async () => {
    s = await serviceDb();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('removes finished deliveries past the retention, and keeps pending and recent ones', async () => {
    const { tenantId } = await seedTenant(s.db);
    const endpoint = newId();
    await s.sql(
      `INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret) VALUES ($1, $2, 'https://example.com/h', '{*}', 'sealed')`,
      [endpoint, tenantId],
    );
    const delivery = async (status: string, daysAgo: number) =>
      (
        await s.sql<{ id: string }>(
          `INSERT INTO webhook_deliveries (tenant_id, endpoint_id, type, payload, status, created_at)
           VALUES ($1, $2, 'email.sent', '{}', $3, now() - make_interval(days => $4)) RETURNING id`,
          [tenantId, endpoint, status, daysAgo],
        )
      )[0]?.id;
    const oldSucceeded = await delivery('succeeded', 31);
    const oldFailed = await delivery('failed', 45);
    const oldPending = await delivery('pending', 60);
    const recent = await delivery('succeeded', 29);

    expect(await outboundWebhooksRepository(s.db).purgeFinished(30)).toBe(2);
    const left = await s.sql<{ id: string }>('SELECT id FROM webhook_deliveries');
    expect(new Set(left.map((r) => r.id))).toEqual(new Set([oldPending, recent]));
    expect(left.map((r) => r.id)).not.toContain(oldSucceeded);
    expect(left.map((r) => r.id)).not.toContain(oldFailed);
    // Nothing more to do: a second pass removes nothing.
    expect(await outboundWebhooksRepository(s.db).purgeFinished(30)).toBe(0);
  });
});
