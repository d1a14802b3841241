import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deliveriesRepository } from '../../src/db/deliveries.repository.js';
import { emailsRepository } from '../../src/db/emails.repository.js';
import { MockProvider } from '../../src/providers/mock/mock.provider.js';
import type { ProviderRegistry } from '../../src/providers/registry.js';
import { deliveryService } from '../../src/services/delivery.service.js';
import { inlineEngine } from '../../src/templates/renderer.js';
import {
  insertEmail,
  recordingDispatcher,
  type ServiceDb,
  seedTenant,
  serviceDb,
} from '../support/services.js';

/** Every kind of DeliveryResult a worker acts on, from a real claim to the row and events it leaves. */
describe('delivery service', () => {
  let s: ServiceDb;
  let seed: { tenantId: string; templateId: string };
  const mock = new MockProvider();
  const renderer = inlineEngine();
  const queue = recordingDispatcher();
  const providers: ProviderRegistry = {
    get: (name) => (name === 'mock' ? mock : undefined),
    defaultName: 'mock',
    names: () => ['mock'],
    closeAll: async () => {},
  };
  const build = (maxRetries = 3) =>
    deliveryService({
      deliveries: deliveriesRepository(s.db),
      renderer,
      providers,
      dispatcher: queue.dispatcher,
      retry: { maxRetries, baseSeconds: 1, maxSeconds: 10 },
      leaseSeconds: 60,
      from: 'Mailsystem <no-reply@example.com>',
    });
  const accept = (to: string) =>
    insertEmail(emailsRepository(s.db), seed, { provider: 'mock', recipientEmail: to });
  const row = async (id: string) =>
    (
      await s.sql<{
        status: string;
        attempts: number;
        provider_deferrals: number;
        next_attempt_at: Date | null;
      }>('SELECT status, attempts, provider_deferrals, next_attempt_at FROM emails WHERE id = $1', [id])
    )[0];
  const eventTypes = async (id: string) =>
    (
      await s.sql<{ type: string }>('SELECT type FROM email_events WHERE email_id = $1 ORDER BY id', [id])
    ).map((e) => e.type);

  beforeAll(async () => {
    s = await serviceDb();
    seed = await seedTenant(s.db);
  });
  afterAll(async () => {
    await renderer.close();
    await s?.close();
  });
  beforeEach(() => {
    mock.reset();
    queue.clear();
  });

  it('sent: renders, hands the message to the provider once, and records sent with its event', async () => {
    const id = await accept('ann@example.com');
    expect(await build().deliver(id)).toEqual({ kind: 'sent', attempt: 1 });
    expect(mock.messages).toHaveLength(1);
    expect(mock.messages[0]).toMatchObject({ to: { email: 'ann@example.com' }, subject: 'Hello Ann' });
    expect(mock.messages[0]?.html).toContain('<p>Hello Ann</p>');
    expect(await row(id)).toMatchObject({ status: 'sent', attempts: 1 });
    expect(await eventTypes(id)).toEqual(['queued', 'processing', 'sent']);
    // Its job running again finds nothing to do and sends nothing.
    expect(await build().deliver(id)).toEqual({ kind: 'skipped' });
    expect(mock.messages).toHaveLength(1);
  });

  it('retry: a transient answer queues it again later, with a deferred event and a delayed job', async () => {
    const id = await accept('later@example.com');
    mock.failNext('later@example.com', { kind: 'transient', error: '451 try later' });
    const r = await build().deliver(id);
    expect(r).toMatchObject({ kind: 'retry', attempt: 1 });
    expect(await row(id)).toMatchObject({ status: 'queued', attempts: 1 });
    expect(await eventTypes(id)).toEqual(['queued', 'processing', 'deferred']);
    expect(queue.dispatched).toHaveLength(1);
    expect(queue.dispatched[0]?.job).toMatchObject({ payload: { emailId: id } });
    expect(queue.dispatched[0]?.job.delayMs).toBeGreaterThan(0);
  });

  it('failed: a permanent answer fails it at once with a dead letter', async () => {
    const id = await accept('gone@example.com');
    mock.failNext('gone@example.com', { kind: 'permanent', error: '550 no such user' });
    const r = await build().deliver(id);
    expect(r).toMatchObject({ kind: 'failed', attempt: 1 });
    expect(await row(id)).toMatchObject({ status: 'failed' });
    const dead = await s.sql('SELECT reason, last_error FROM dead_letters WHERE email_id = $1', [id]);
    expect(dead).toEqual([{ reason: 'permanent', last_error: '550 no such user' }]);
    expect(await eventTypes(id)).toEqual(['queued', 'processing', 'failed']);
  });

  it('failed: transient answers past MAX_RETRIES end with a retries_exhausted dead letter', async () => {
    const id = await accept('flaky@example.com');
    mock.failNext('flaky@example.com', { kind: 'transient', error: '451 busy' }, 5);
    // MAX_RETRIES 1: the first attempt and one retry.
    expect(await build(1).deliver(id)).toMatchObject({ kind: 'retry', attempt: 1 });
    await s.sql('UPDATE emails SET next_attempt_at = now() WHERE id = $1', [id]);
    expect(await build(1).deliver(id)).toMatchObject({ kind: 'failed', attempt: 2 });
    const dead = await s.sql('SELECT reason FROM dead_letters WHERE email_id = $1', [id]);
    expect(dead).toEqual([{ reason: 'retries_exhausted' }]);
  });

  it('held: the provider unavailable spends no attempt of the message', async () => {
    const id = await accept('held@example.com');
    mock.failNext('held@example.com', { kind: 'unavailable', error: '421 service not available' });
    expect(await build().deliver(id)).toMatchObject({ kind: 'held', attempt: 1 });
    expect(await row(id)).toMatchObject({ status: 'queued', attempts: 1, provider_deferrals: 1 });
    expect(mock.messages).toHaveLength(0);
  });

  it('suppressed: an address suppressed after acceptance is never handed to the provider', async () => {
    const id = await accept('stop@example.com');
    await s.sql(
      `INSERT INTO suppressions (tenant_id, email, reason, source) VALUES ($1, 'stop@example.com', 'complaint', '{}')`,
      [seed.tenantId],
    );
    expect(await build().deliver(id)).toEqual({ kind: 'suppressed' });
    expect(await row(id)).toMatchObject({ status: 'suppressed' });
    expect(mock.messages).toHaveLength(0);
  });

  it("skipped: a suspended tenant's mail is held where it is, unclaimed", async () => {
    const other = await seedTenant(s.db);
    const id = await insertEmail(emailsRepository(s.db), other, { provider: 'mock' });
    await s.sql(`UPDATE tenants SET status = 'suspended' WHERE id = $1`, [other.tenantId]);
    expect(await build().deliver(id)).toEqual({ kind: 'skipped' });
    expect(await row(id)).toMatchObject({ status: 'queued', attempts: 0 });
    expect(mock.messages).toHaveLength(0);
  });
});
