import { afterAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.js';

/**
 * A backlog drained at once: the worker claims the due emails of many jobs together and records
 * their sends together. What a user sees must be what one email at a time gives: every email
 * reaches the relay once, ends `sent` with one `sent` event, and a failure is each email's own.
 */
describe.each([
  { mode: 'PostgreSQL + BullMQ', embedded: false, perTenant: 150 },
  { mode: 'embedded (PGlite + in-process queue)', embedded: true, perTenant: 40 },
])('a backlog delivered in batches ($mode)', ({ embedded, perTenant }) => {
  let h: Harness;
  afterAll(() => h?.close());

  // How the relay answers RCPT TO: temp-* once 451 then accepted, perm-* always 550.
  const tries = new Map<string, number>();
  const reply = (rcpt: string) => {
    const n = (tries.get(rcpt) ?? 0) + 1;
    tries.set(rcpt, n);
    if (rcpt.startsWith('perm-')) return { code: 550, message: '5.1.1 No such user here' };
    if (rcpt.startsWith('temp-') && n === 1) return { code: 451, message: '4.3.0 Mailbox busy' };
    return undefined;
  };

  it('sends every email once, each with one sent event, and keeps each failure its own', async () => {
    // Without a worker at first, so the whole backlog is waiting when one starts.
    h = await startHarness({
      embedded,
      roles: embedded ? { api: true, worker: true } : { api: true, worker: false },
      env: { MAX_RETRIES: '3' },
      sink: { keep: 10_000, reply },
    });
    const tenants = [await h.createTenant('A'), await h.createTenant('B')];
    const accepted: Array<{ id: string; tenant: { id: string; key: string }; to: string }> = [];
    for (const [t, tenant] of tenants.entries()) {
      const templateId = await h.createTemplate(tenant.key);
      const recipients = Array.from({ length: perTenant }, (_, i) =>
        i % 25 === 3
          ? `temp-${t}-${i}@example.com`
          : i % 25 === 7
            ? `perm-${t}-${i}@example.com`
            : `r-${t}-${i}@example.com`,
      );
      for (let i = 0; i < recipients.length; i += 25) {
        await Promise.all(
          recipients.slice(i, i + 25).map(async (to) => {
            const r = await h.request('POST', '/send', {
              key: tenant.key,
              body: { recipient: { email: to }, template_id: templateId, variables: { name: to } },
            });
            expect(r.status).toBe(202);
            accepted.push({ id: r.body.email_id, tenant, to });
          }),
        );
      }
    }
    if (!embedded) await h.startPeer({ env: { MAX_RETRIES: '3' } });

    const perm = accepted.filter((a) => a.to.startsWith('perm-'));
    const ok = accepted.filter((a) => !a.to.startsWith('perm-'));
    // Every email comes to rest: sent, or failed for the ones the relay refuses for good.
    await eventually(async () => {
      const [row] = await h.sql<{ n: number }>(
        "SELECT count(*)::int AS n FROM emails WHERE status IN ('sent', 'failed')",
      );
      return row?.n === accepted.length ? true : null;
    }, 120_000);

    // The relay accepted each deliverable email exactly once.
    const delivered = h.sink.server.messages().map((m) => m.envelope.to[0] ?? '');
    expect(delivered).toHaveLength(ok.length);
    expect(new Set(delivered).size).toBe(ok.length);
    expect(new Set(delivered)).toEqual(new Set(ok.map((a) => a.to)));

    // Each email as its tenant sees it through the API.
    for (const a of accepted) {
      const r = await h.request('GET', `/emails/${a.id}`, { key: a.tenant.key });
      expect(r.status).toBe(200);
      const types = (r.body.events as Array<{ type: string }>).map((e) => e.type);
      if (a.to.startsWith('perm-')) {
        expect(r.body.status).toBe('failed');
        expect(r.body.attempts).toBe(1);
        expect(r.body.last_error).toContain('550');
        expect(types.filter((t) => t === 'sent')).toHaveLength(0);
        expect(types.filter((t) => t === 'failed')).toHaveLength(1);
      } else {
        expect(r.body.status).toBe('sent');
        expect(types.filter((t) => t === 'sent')).toHaveLength(1);
        expect(r.body.attempts).toBe(a.to.startsWith('temp-') ? 2 : 1);
        if (a.to.startsWith('temp-')) expect(types).toContain('deferred');
      }
      // Another tenant cannot see it.
      const other = tenants.find((t) => t.id !== a.tenant.id);
      expect((await h.request('GET', `/emails/${a.id}`, { key: other?.key as string })).status).toBe(404);
    }

    // One dead letter per refused email, in its own tenant's list.
    for (const tenant of tenants) {
      const list = await h.request('GET', '/dead-letters?limit=100', { key: tenant.key });
      expect(list.status).toBe(200);
      const mine = perm.filter((a) => a.tenant.id === tenant.id).map((a) => a.id);
      const ids = (list.body.items as Array<{ email_id: string; reason: string }>).map((d) => d.email_id);
      expect(ids.sort()).toEqual([...mine].sort());
      for (const d of list.body.items as Array<{ reason: string }>) expect(d.reason).toBe('permanent');
    }
  }, 180_000);
});
