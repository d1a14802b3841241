import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { emailsRepository } from '../../src/db/emails.repository.js';
import { outboundWebhooksRepository } from '../../src/db/outbound-webhooks.repository.js';
import { newId } from '../../src/lib/ids.js';
import { createOutboundHttp, urlProblem } from '../../src/lib/outbound-http.js';
import { outboundWebhooksService } from '../../src/services/outbound-webhooks.service.js';
import {
  codeOf,
  insertEmail,
  recordingDispatcher,
  type ServiceDb,
  seedTenant,
  serviceDb,
} from '../support/services.js';
import {
  type ReceivedWebhook,
  verifySignature as verify,
  WebhookReceiver,
} from '../support/webhook-receiver.js';

/** Tenant webhook endpoints and their delivery log, through the service, to a real HTTP receiver. */
describe('outbound webhooks service', () => {
  let s: ServiceDb;
  let receiver: WebhookReceiver;
  let mine: { tenantId: string; templateId: string };
  let theirs: { tenantId: string; templateId: string };
  const queue = recordingDispatcher();
  let hooks: ReturnType<typeof outboundWebhooksService>;

  beforeAll(async () => {
    s = await serviceDb();
    receiver = await WebhookReceiver.start();
    mine = await seedTenant(s.db);
    theirs = await seedTenant(s.db);
    hooks = outboundWebhooksService({
      repo: outboundWebhooksRepository(s.db),
      sealing: {
        configured: randomBytes(32),
        stored: async () => {
          throw new Error('SECRETS_KEY is set: the stored key is never used');
        },
      },
      dispatcher: queue.dispatcher,
      // The receiver listens on loopback.
      http: createOutboundHttp({ allowPrivate: true }),
      urlProblem: (url) => urlProblem(url, true),
      timeoutMs: 1500,
      retryScheduleSeconds: [0, 0],
      redispatchGraceSeconds: 3,
    });
  });
  afterAll(async () => {
    await receiver?.close();
    await s?.close();
  });
  beforeEach(() => queue.clear());

  const endpoint = (tenantId: string, path = `/${newId()}`, events = ['email.queued']) =>
    hooks.create(tenantId, { url: receiver.url(path), events, description: 'orders' });
  /** The ids of the mail.webhooks jobs handed to the queue so far. */
  const dispatchedDeliveries = () =>
    queue.dispatched
      .filter((d) => d.queue === 'mail.webhooks')
      .map((d) => (d.job.payload as { deliveryId: string }).deliveryId);
  const log = async (tenantId: string, endpointId: string) =>
    hooks.deliveries(tenantId, endpointId, 50, null);

  it('creates an endpoint whose secret is shown once and sealed at rest, listed for its tenant only', async () => {
    const ep = await endpoint(mine.tenantId);
    expect(ep.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(ep).toMatchObject({ events: ['email.queued'], enabled: true, description: 'orders' });
    expect(await hooks.get(mine.tenantId, ep.id)).not.toHaveProperty('secret');
    const [stored] = await s.sql<{ secret: string }>('SELECT secret FROM webhook_endpoints WHERE id = $1', [
      ep.id,
    ]);
    expect(stored?.secret).toMatch(/^sealed:/);
    expect(stored?.secret).not.toContain(ep.secret.slice('whsec_'.length));
    expect((await hooks.list(mine.tenantId, 50, null)).map((r) => r.id)).toContain(ep.id);
    expect((await hooks.list(theirs.tenantId, 50, null)).map((r) => r.id)).not.toContain(ep.id);
  });

  it('refuses unknown event types and URLs it may not call, storing nothing', async () => {
    const before = await s.sql('SELECT id FROM webhook_endpoints');
    const create = (url: string, events: string[]) => hooks.create(mine.tenantId, { url, events });
    expect(await codeOf(create(receiver.url(), ['email.sent', 'email.nope']))).toBe('validation_failed');
    expect(await codeOf(create('ftp://example.com/hook', ['*']))).toBe('invalid_webhook_url');
    expect(await codeOf(create('https://user:pw@example.com/hook', ['*']))).toBe('invalid_webhook_url');
    expect(await s.sql('SELECT id FROM webhook_endpoints')).toEqual(before);
  });

  it("answers not found for another tenant's endpoint, and changes nothing of it", async () => {
    const ep = await endpoint(mine.tenantId);
    const [before] = await s.sql('SELECT * FROM webhook_endpoints WHERE id = $1', [ep.id]);
    const attempts = [
      () => hooks.get(theirs.tenantId, ep.id),
      () => hooks.update(theirs.tenantId, ep.id, { enabled: false }),
      () => hooks.rotateSecret(theirs.tenantId, ep.id),
      () => hooks.sendTest(theirs.tenantId, ep.id),
      () => hooks.deliveries(theirs.tenantId, ep.id, 50, null),
      () => hooks.retryDelivery(theirs.tenantId, ep.id, newId()),
      () => hooks.remove(theirs.tenantId, ep.id),
      () => hooks.get(mine.tenantId, 'not-a-uuid'),
    ];
    for (const attempt of attempts) expect(await codeOf(attempt())).toBe('webhook_endpoint_not_found');
    expect(await s.sql('SELECT * FROM webhook_endpoints WHERE id = $1', [ep.id])).toEqual([before]);
    expect(await s.sql('SELECT id FROM webhook_deliveries WHERE endpoint_id = $1', [ep.id])).toEqual([]);
    expect(dispatchedDeliveries()).toEqual([]);
  });

  it("logs an email's subscribed events for its own tenant's endpoints only", async () => {
    const ep = await endpoint(mine.tenantId);
    const other = await endpoint(theirs.tenantId, undefined, ['*']);
    const emailId = await insertEmail(emailsRepository(s.db), mine);
    expect((await log(mine.tenantId, ep.id)).map((d) => [d.type, d.email_id, d.status])).toEqual([
      ['email.queued', emailId, 'pending'],
    ]);
    expect(await log(theirs.tenantId, other.id)).toEqual([]);
  });

  it('delivers a test event signed with the secret, logs the answer, and does not send it twice', async () => {
    const path = `/${newId()}`;
    const ep = await endpoint(mine.tenantId, path);
    const test = await hooks.sendTest(mine.tenantId, ep.id);
    expect(dispatchedDeliveries()).toEqual([test.id]);

    expect(await hooks.deliver(test.id)).toBe('sent');
    expect(await hooks.deliver(test.id)).toBe('skipped');
    const got = receiver.at(path);
    expect(got).toHaveLength(1);
    expect(verify(ep.secret, got[0] as ReceivedWebhook)).toMatchObject({ type: 'webhook.test' });
    expect(await log(mine.tenantId, ep.id)).toEqual([
      expect.objectContaining({ id: test.id, status: 'succeeded', attempts: 1, last_status: 200 }),
    ]);
  });

  it('retries a failure the receiver may recover from, gives up on one it will not, and sends a finished one again', async () => {
    const path = `/${newId()}`;
    receiver.plans[path] = [503, 400];
    const ep = await endpoint(mine.tenantId, path);
    const { id } = await hooks.sendTest(mine.tenantId, ep.id);

    expect(await hooks.deliver(id)).toBe('retry');
    expect((await log(mine.tenantId, ep.id))[0]).toMatchObject({ status: 'pending', last_status: 503 });
    expect(await codeOf(hooks.retryDelivery(mine.tenantId, ep.id, id))).toBe('webhook_delivery_pending');
    expect(await hooks.deliver(id)).toBe('failed');
    expect((await log(mine.tenantId, ep.id))[0]).toMatchObject({
      status: 'failed',
      attempts: 2,
      last_status: 400,
      last_response: 'not today',
    });

    queue.clear();
    const again = await hooks.retryDelivery(mine.tenantId, ep.id, id);
    expect(again).toMatchObject({ status: 'pending', attempts: 0 });
    expect(dispatchedDeliveries()).toEqual([id]);
    expect(await hooks.deliver(id)).toBe('sent');
    expect(receiver.at(path)).toHaveLength(3);
    expect(await codeOf(hooks.retryDelivery(mine.tenantId, ep.id, newId()))).toBe(
      'webhook_delivery_not_found',
    );
  });

  it('signs with the old and the new secret for a day after a rotation', async () => {
    const path = `/${newId()}`;
    const ep = await endpoint(mine.tenantId, path);
    const rotated = await hooks.rotateSecret(mine.tenantId, ep.id);
    expect(rotated.secret).not.toBe(ep.secret);
    const graceHours = (Date.parse(rotated.previous_secret_expires_at ?? '') - Date.now()) / 3_600_000;
    expect(graceHours).toBeGreaterThan(23);
    expect(graceHours).toBeLessThanOrEqual(24);

    const { id } = await hooks.sendTest(mine.tenantId, ep.id);
    expect(await hooks.deliver(id)).toBe('sent');
    const [got] = receiver.at(path);
    expect(verify(ep.secret, got as ReceivedWebhook)).toBeTruthy();
    expect(verify(rotated.secret, got as ReceivedWebhook)).toBeTruthy();
  });

  it('updates and deletes an endpoint with its delivery log', async () => {
    const ep = await endpoint(mine.tenantId);
    const { id } = await hooks.sendTest(mine.tenantId, ep.id);
    const disabled = await hooks.update(mine.tenantId, ep.id, { enabled: false, events: ['email.sent'] });
    expect(disabled).toMatchObject({ enabled: false, events: ['email.sent'] });
    // A disabled endpoint's pending deliveries are given up, and it is sent nothing.
    expect(await hooks.deliver(id)).toBe('skipped');
    expect(await codeOf(hooks.retryDelivery(mine.tenantId, ep.id, id))).toBe('conflict');

    await hooks.remove(mine.tenantId, ep.id);
    expect(await s.sql('SELECT id FROM webhook_endpoints WHERE id = $1', [ep.id])).toEqual([]);
    expect(await s.sql('SELECT id FROM webhook_deliveries WHERE endpoint_id = $1', [ep.id])).toEqual([]);
    expect(await codeOf(hooks.get(mine.tenantId, ep.id))).toBe('webhook_endpoint_not_found');
  });
});
