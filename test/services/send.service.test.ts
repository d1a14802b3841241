import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { emailsRepository } from '../../src/db/emails.repository.js';
import { suppressionsRepository } from '../../src/db/suppressions.repository.js';
import { templatesRepository } from '../../src/db/templates.repository.js';
import { sendService } from '../../src/services/send.service.js';
import { inlineEngine } from '../../src/templates/renderer.js';
import { codeOf, recordingDispatcher, type ServiceDb, seedTenant, serviceDb } from '../support/services.js';

/** Acceptance edges of POST /send, through the service and its ports only. */
describe('send service', () => {
  let s: ServiceDb;
  let mine: { tenantId: string; templateId: string };
  let theirs: { tenantId: string; templateId: string };
  const renderer = inlineEngine();
  const queue = recordingDispatcher();
  let send: ReturnType<typeof sendService>;
  const count = async () => Number((await s.sql<{ n: string }>('SELECT count(*) AS n FROM emails'))[0]?.n);
  const req = (over: Record<string, unknown> = {}) => ({
    recipient: { email: 'ann@example.com' },
    template_id: mine.templateId,
    variables: { name: 'Ann' },
    ...over,
  });

  beforeAll(async () => {
    s = await serviceDb();
    mine = await seedTenant(s.db);
    theirs = await seedTenant(s.db);
    send = sendService({
      emails: emailsRepository(s.db),
      templates: templatesRepository(s.db),
      suppressions: suppressionsRepository(s.db),
      renderer,
      dispatcher: queue.dispatcher,
      defaultProvider: 'mock',
      messageIdDomain: 'mail.example.com',
    });
  });
  afterAll(async () => {
    await renderer.close();
    await s?.close();
  });
  beforeEach(() => queue.clear());

  it('stores the email with its queued event before answering, then hands the queue one job', async () => {
    const r = await send.accept(mine.tenantId, req(), undefined);
    expect(r).toMatchObject({ status: 'queued', idempotency_reused: false });
    const rows = await s.sql('SELECT status, provider, recipient_email FROM emails WHERE id = $1', [
      r.email_id,
    ]);
    expect(rows).toEqual([{ status: 'queued', provider: 'mock', recipient_email: 'ann@example.com' }]);
    expect(await s.sql('SELECT type FROM email_events WHERE email_id = $1', [r.email_id])).toEqual([
      { type: 'queued' },
    ]);
    expect(queue.sentIds()).toEqual([r.email_id]);
  });

  it('hands concurrent sends, stored by one statement, to the queue as one job carrying every id', async () => {
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        send.accept(mine.tenantId, req({ recipient: { email: `c${i}@example.com` } }), undefined),
      ),
    );
    const ids = results.map((r) => r.email_id);
    expect(new Set(queue.sentIds())).toEqual(new Set(ids));
    expect(queue.sentIds()).toHaveLength(12);
    // Fewer jobs than emails: the requests in flight together share theirs.
    const jobs = queue.dispatched.filter((d) => d.queue === 'mail.send');
    expect(jobs.length).toBeLessThan(12);
    expect(new Set(jobs.map((j) => j.job.jobId)).size).toBe(jobs.length);
  });

  it('refuses what a client got wrong, storing nothing and queueing nothing', async () => {
    const before = await count();
    expect(
      await codeOf(send.accept(mine.tenantId, req({ recipient: { email: 'not an address' } }), undefined)),
    ).toBe('validation_failed');
    expect(await codeOf(send.accept(mine.tenantId, req({ variables: {} }), undefined))).toBe(
      'missing_variables',
    );
    expect(await codeOf(send.accept(mine.tenantId, req({ template_id: theirs.templateId }), undefined))).toBe(
      'unknown_template',
    );
    expect(
      await codeOf(
        send.accept(
          mine.tenantId,
          req({ recipient: { email: 'a@example.com', name: 'A\r\nBcc: x@y.z' } }),
          undefined,
        ),
      ),
    ).toBe('validation_failed');
    await s.sql(
      `INSERT INTO suppressions (tenant_id, email, reason, source) VALUES ($1, 'no@example.com', 'hard_bounce', '{}')`,
      [mine.tenantId],
    );
    expect(
      await codeOf(send.accept(mine.tenantId, req({ recipient: { email: 'no@example.com' } }), undefined)),
    ).toBe('recipient_suppressed');
    expect(await count()).toBe(before);
    expect(queue.dispatched).toEqual([]);
  });

  it('answers a repeated idempotency key with the same email, and a different body with a conflict', async () => {
    const first = await send.accept(mine.tenantId, req(), 'order-42');
    const again = await send.accept(mine.tenantId, req(), 'order-42');
    expect(again).toMatchObject({ email_id: first.email_id, idempotency_reused: true });
    expect(await codeOf(send.accept(mine.tenantId, req({ variables: { name: 'Bob' } }), 'order-42'))).toBe(
      'idempotency_key_reused',
    );
    // Another tenant's key space is its own.
    const other = await send.accept(theirs.tenantId, req({ template_id: theirs.templateId }), 'order-42');
    expect(other.email_id).not.toBe(first.email_id);
    expect(
      await s.sql('SELECT count(*)::int AS n FROM emails WHERE idempotency_key = $1', ['order-42']),
    ).toEqual([{ n: 2 }]);
  });

  it('keeps a scheduled email for its time: a scheduled event and a delayed job of the scheduler', async () => {
    const at = new Date(Date.now() + 3_600_000);
    const r = await send.accept(mine.tenantId, req({ send_at: at.toISOString() }), undefined);
    expect(r.status).toBe('scheduled');
    expect(queue.dispatched.map((d) => d.queue)).toEqual(['mail.scheduled']);
    expect(queue.dispatched[0]?.job.delayMs).toBeGreaterThan(3_500_000);
    expect(await s.sql('SELECT type FROM email_events WHERE email_id = $1', [r.email_id])).toEqual([
      { type: 'scheduled' },
    ]);
  });
});
