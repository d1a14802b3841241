import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachmentsRepository } from '../../src/db/attachments.repository.js';
import { emailsRepository } from '../../src/db/emails.repository.js';
import { newId } from '../../src/lib/ids.js';
import { attachmentsService } from '../../src/services/attachments.service.js';
import { emailsService } from '../../src/services/emails.service.js';
import {
  codeOf,
  insertEmail,
  refusalOf,
  type ServiceDb,
  seedTenant,
  serviceDb,
  type TenantSeed,
} from '../support/services.js';

/** Looking emails up, listing them, the event feed and cancelling scheduled mail (/emails, /events). */
describe('emails service', () => {
  let s: ServiceDb;
  let mine: TenantSeed;
  let theirs: TenantSeed;
  let repo: ReturnType<typeof emailsRepository>;
  let attachments: ReturnType<typeof attachmentsService>;
  let emails: ReturnType<typeof emailsService>;
  /** Providers whose circuit breaker is open. */
  const down = new Set<string>();

  beforeAll(async () => {
    s = await serviceDb();
    mine = await seedTenant(s.db);
    theirs = await seedTenant(s.db);
    repo = emailsRepository(s.db);
    attachments = attachmentsService({ repo: attachmentsRepository(s.db), maxBytes: 1_000_000 });
    emails = emailsService({
      emails: repo,
      providerDown: async (provider) => down.has(provider),
      attachments: (t, id) => attachments.list(t, id),
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  const statusOf = async (id: string) =>
    (await s.sql<{ status: string }>('SELECT status FROM emails WHERE id = $1', [id]))[0]?.status;
  const eventTypes = async (id: string) =>
    (
      await s.sql<{ type: string }>('SELECT type FROM email_events WHERE email_id = $1 ORDER BY id', [id])
    ).map((e) => e.type);
  const scheduled = (seed: TenantSeed) =>
    insertEmail(repo, seed, { status: 'scheduled', sendAt: new Date(Date.now() + 86_400_000) });

  it('shows an email with its events and its attachments, without their content', async () => {
    const prepared = attachments.prepare([
      {
        filename: 'invoice.pdf',
        content: Buffer.from('%PDF-1.7').toString('base64'),
        content_type: 'application/pdf',
      },
    ]);
    await attachments.store(mine.tenantId, prepared);
    const id = await insertEmail(repo, mine, {
      recipientName: 'Ann',
      tags: ['welcome'],
      metadata: { user: 7 },
      sender: { from: { email: 'news@example.com', name: null }, reply_to: null },
      attachments: prepared.refs,
    });
    const e = await emails.get(mine.tenantId, id);
    expect(e).toMatchObject({
      email_id: id,
      status: 'queued',
      recipient: { name: 'Ann' },
      from: { email: 'news@example.com', name: null },
      reply_to: null,
      template_id: mine.templateId,
      tags: ['welcome'],
      metadata: { user: 7 },
      waiting_on: null,
      attachments: [
        {
          filename: 'invoice.pdf',
          content_type: 'application/pdf',
          content_id: null,
          size: 8,
          sha256: prepared.refs[0]?.sha256,
        },
      ],
    });
    expect(e.events.map((ev) => ev.type)).toEqual(['queued']);
    expect(e.attachments[0]).not.toHaveProperty('content');
  });

  it('says a queued email waits on its provider while the breaker is open or the last attempt was handed back', async () => {
    const id = await insertEmail(repo, mine, { provider: 'flaky' });
    down.add('flaky');
    try {
      expect((await emails.get(mine.tenantId, id)).waiting_on).toBe('provider');
    } finally {
      down.delete('flaky');
    }
    expect((await emails.get(mine.tenantId, id)).waiting_on).toBeNull();
    await s.sql(
      `INSERT INTO email_events (email_id, tenant_id, template_id, type, data)
       VALUES ($1, $2, $3, 'deferred', '{"provider_unavailable": true}')`,
      [id, mine.tenantId, mine.templateId],
    );
    expect((await emails.get(mine.tenantId, id)).waiting_on).toBe('provider');
    // Once sent, it waits on nothing.
    await s.sql(`UPDATE emails SET status = 'sent', sent_at = now() WHERE id = $1`, [id]);
    down.add('flaky');
    try {
      expect((await emails.get(mine.tenantId, id)).waiting_on).toBeNull();
    } finally {
      down.delete('flaky');
    }
  });

  it('cancels a scheduled email once, with an event; other statuses are refused and unchanged', async () => {
    const id = await scheduled(mine);
    expect(await emails.cancel(mine.tenantId, id)).toEqual({ email_id: id, status: 'cancelled' });
    expect(await statusOf(id)).toBe('cancelled');
    expect(await eventTypes(id)).toEqual(['scheduled', 'cancelled']);

    expect(await refusalOf(emails.cancel(mine.tenantId, id))).toEqual({
      code: 'email_not_cancellable',
      details: { status: 'cancelled' },
    });
    const queued = await insertEmail(repo, mine);
    expect(await codeOf(emails.cancel(mine.tenantId, queued))).toBe('email_not_cancellable');
    expect(await statusOf(queued)).toBe('queued');
    expect(await eventTypes(id)).toEqual(['scheduled', 'cancelled']);
  });

  it("answers not found for another tenant's email and for malformed ids, and changes nothing", async () => {
    const id = await scheduled(theirs);
    expect(await codeOf(emails.get(mine.tenantId, id))).toBe('email_not_found');
    expect(await codeOf(emails.cancel(mine.tenantId, id))).toBe('email_not_found');
    expect(await codeOf(emails.get(mine.tenantId, newId()))).toBe('email_not_found');
    expect(await codeOf(emails.get(mine.tenantId, 'not-a-uuid'))).toBe('email_not_found');
    expect(await codeOf(emails.cancel(mine.tenantId, 'not-a-uuid'))).toBe('email_not_found');
    expect(await statusOf(id)).toBe('scheduled');
    expect(await eventTypes(id)).toEqual(['scheduled']);
    expect((await emails.list(mine.tenantId, {}, 100, undefined)).items.map((e) => e.email_id)).not.toContain(
      id,
    );
  });

  it('lists newest first with filters, page by page, and refuses a cursor it did not issue', async () => {
    const tenant = await seedTenant(s.db);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await insertEmail(repo, tenant));
    const sched = await scheduled(tenant);
    const first = await emails.list(tenant.tenantId, {}, 3, undefined);
    const rest = await emails.list(tenant.tenantId, {}, 3, first.next_cursor ?? undefined);
    expect(first.items).toHaveLength(3);
    expect(rest).toMatchObject({ next_cursor: null });
    expect([...first.items, ...rest.items].map((e) => e.email_id).sort()).toEqual([...ids, sched].sort());

    const byStatus = await emails.list(tenant.tenantId, { status: 'scheduled' }, 10, undefined);
    expect(byStatus.items.map((e) => e.email_id)).toEqual([sched]);
    const one = first.items[1];
    const byRecipient = await emails.list(
      tenant.tenantId,
      { recipient: one?.recipient.email ?? '' },
      10,
      undefined,
    );
    expect(byRecipient.items.map((e) => e.email_id)).toEqual([one?.email_id]);
    expect(await codeOf(emails.list(tenant.tenantId, {}, 3, 'not-a-cursor'))).toBe('invalid_cursor');
  });

  it("feeds the tenant's events in order from a position, and only its own", async () => {
    const tenant = await seedTenant(s.db);
    const a = await insertEmail(repo, tenant);
    await insertEmail(repo, theirs);
    const b = await insertEmail(repo, tenant);
    const latest = await emails.eventFeed(tenant.tenantId, undefined, 10);
    expect(latest.items.map((ev) => [ev.email_id, ev.type])).toEqual([
      [a, 'queued'],
      [b, 'queued'],
    ]);
    expect(latest.has_more).toBe(false);

    // Asking again from the position returns what was written since, a page at a time.
    const c = await insertEmail(repo, tenant);
    await insertEmail(repo, theirs);
    const d = await scheduled(tenant);
    const e = await insertEmail(repo, tenant);
    const page1 = await emails.eventFeed(tenant.tenantId, latest.next_cursor, 2);
    expect(page1.items.map((ev) => ev.email_id)).toEqual([c, d]);
    expect(page1.has_more).toBe(true);
    const page2 = await emails.eventFeed(tenant.tenantId, page1.next_cursor, 2);
    expect(page2.items.map((ev) => [ev.email_id, ev.type])).toEqual([[e, 'queued']]);
    expect(page2.has_more).toBe(false);
    const idle = await emails.eventFeed(tenant.tenantId, page2.next_cursor, 2);
    expect(idle).toEqual({ items: [], next_cursor: page2.next_cursor, has_more: false });

    for (const bad of [
      'garbage',
      Buffer.from('ev:x').toString('base64url'),
      Buffer.from('42').toString('base64url'),
    ]) {
      expect(await codeOf(emails.eventFeed(tenant.tenantId, bad, 2)), bad).toBe('invalid_cursor');
    }
  });

  it("cancels every open email of a tenant (admin), and none of another tenant's", async () => {
    const tenant = await seedTenant(s.db);
    const open = [await insertEmail(repo, tenant), await scheduled(tenant)];
    const sent = await insertEmail(repo, tenant);
    await s.sql(`UPDATE emails SET status = 'sent', sent_at = now() WHERE id = $1`, [sent]);
    const other = await insertEmail(repo, theirs);
    expect(await emails.countOpen(tenant.tenantId)).toBe(2);

    expect(await emails.cancelOpen(tenant.tenantId)).toEqual({ emails: 2, bulkJobs: 0 });
    for (const id of open) {
      expect(await statusOf(id)).toBe('cancelled');
      expect((await eventTypes(id)).at(-1)).toBe('cancelled');
    }
    expect(await statusOf(sent)).toBe('sent');
    expect(await statusOf(other)).toBe('queued');
    expect(await emails.countOpen(tenant.tenantId)).toBe(0);
  });
});
