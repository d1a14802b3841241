import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.js';

/** A suspended tenant's mail is held — neither sent nor lost — and goes out once on reactivation. */
describe('suspension holds mail', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { RECOVERY_GRACE_SECONDS: '1' } });
  });
  afterAll(() => h?.close());

  const schedule = async (key: string, templateId: string, inMs: number) => {
    const sendAt = new Date(Date.now() + inMs).toISOString();
    const single = await h.request('POST', '/send', {
      key,
      body: {
        recipient: { email: 'one@example.com' },
        template_id: templateId,
        variables: { name: 'A' },
        send_at: sendAt,
      },
    });
    expect(single.status).toBe(202);
    const bulk = await h.request('POST', '/send/bulk', {
      key,
      body: {
        template_id: templateId,
        send_at: sendAt,
        recipients: Array.from({ length: 50 }, (_, i) => ({
          email: `bulk${i}@example.com`,
          variables: { name: `B${i}` },
        })),
      },
    });
    expect(bulk.status).toBe(202);
    return { singleId: single.body.email_id as string, bulkId: bulk.body.bulk_job_id as string };
  };
  const counts = (tenantId: string) =>
    h.sql<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM emails WHERE tenant_id = $1 GROUP BY status ORDER BY status',
      [tenantId],
    );

  it('holds a scheduled single and a scheduled 50-recipient bulk while suspended, then sends each once', async () => {
    const t = await h.createTenant();
    const templateId = await h.createTemplate(t.key);
    await schedule(t.key, templateId, 1500);
    expect((await h.admin('PATCH', `/admin/tenants/${t.id}`, { status: 'suspended' })).status).toBe(200);

    // Well past send_at and the recovery grace: everything exists, nothing went out.
    await eventually(
      async () => (await h.sql('SELECT 1 FROM emails WHERE tenant_id = $1', [t.id])).length === 51,
      30_000,
    );
    await new Promise((r) => setTimeout(r, 5000));
    expect(h.sink.server.messages().length).toBe(0);
    const held = await counts(t.id);
    expect(held.every((r) => r.status === 'queued' || r.status === 'scheduled')).toBe(true);
    expect(held.reduce((a, r) => a + r.n, 0)).toBe(51);
    // The admin sees the held mail.
    const tenantNow = await h.admin('GET', `/admin/tenants/${t.id}`);
    expect(tenantNow.body).toMatchObject({ status: 'suspended', held_emails: 51 });

    expect((await h.admin('PATCH', `/admin/tenants/${t.id}`, { status: 'active' })).status).toBe(200);
    const got = await h.sink.waitFor(51, 60_000);
    await eventually(async () => {
      const c = await counts(t.id);
      return c.length === 1 && c[0]?.status === 'sent' && c[0].n === 51;
    }, 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    const ids = h.sink.server.messages().map((m) => /^Message-ID:\s*(\S+)/im.exec(m.raw)?.[1]);
    expect(new Set(ids).size).toBe(51);
    expect(ids).toHaveLength(51);
    expect(got.length).toBe(51);
  }, 120_000);

  it("cancel-open cancels all of a suspended tenant's open mail for good", async () => {
    h.sink.clear();
    const t = await h.createTenant();
    const templateId = await h.createTemplate(t.key);
    await schedule(t.key, templateId, 1000);
    await h.admin('PATCH', `/admin/tenants/${t.id}`, { status: 'suspended' });
    await eventually(
      async () => (await h.sql('SELECT 1 FROM emails WHERE tenant_id = $1', [t.id])).length === 51,
      30_000,
    );
    const r = await h.admin('POST', `/admin/tenants/${t.id}/cancel-open`);
    expect(r.status).toBe(200);
    expect(r.body.cancelled_emails).toBe(51);
    expect((await h.admin('POST', '/admin/tenants/no-such-tenant/cancel-open')).status).toBe(404);
    await h.admin('PATCH', `/admin/tenants/${t.id}`, { status: 'active' });
    await new Promise((r) => setTimeout(r, 4000));
    expect(h.sink.server.messages().length).toBe(0);
    expect(await counts(t.id)).toEqual([{ status: 'cancelled', n: 51 }]);
  }, 120_000);
});
