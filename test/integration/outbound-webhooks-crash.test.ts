import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CrashRig, startCrashRig } from '../support/crash-rig.js';
import { eventually } from '../support/harness.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * `kill -9` of the whole process while tenant webhooks are in flight (claimed, waiting for a slow
 * receiver) and waiting in the outbox: after a restart every event reaches the receiver.
 */
describe('tenant webhooks across a SIGKILL', () => {
  let rig: CrashRig;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    rig = await startCrashRig({
      name: 'whcrash',
      env: {
        RECOVERY_GRACE_SECONDS: '2',
        OUTBOUND_WEBHOOKS_ALLOW_PRIVATE: 'true',
        OUTBOUND_WEBHOOKS_TIMEOUT_MS: '2000',
        OUTBOUND_WEBHOOKS_RETRY_SCHEDULE: '0,1,1,1,1',
        OUTBOUND_WEBHOOKS_RELAY_INTERVAL_MS: '200',
      },
    });
  });
  afterAll(async () => {
    await rig?.close();
    await receiver?.close();
  });

  it('delivers every outgoing event after the process is killed and restarted', {
    timeout: 120_000,
  }, async () => {
    const sys = await rig.start();
    const ep = await sys.post('/webhook-endpoints', {
      url: receiver.url('/crash'),
      events: ['email.sent'],
    });
    expect(ep.status).toBe(201);
    // A slow receiver: attempts are in flight (claimed) when the process dies.
    receiver.delayMs = 1500;
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await sys.post('/send', {
        recipient: { email: `hook-${i}@example.com` },
        template_id: sys.templateId,
        variables: { name: String(i) },
      });
      expect(r.status).toBe(202);
      ids.push(r.body.email_id as string);
    }
    await eventually(async () => receiver.at('/crash').length >= 1, 30_000);
    await rig.stop('SIGKILL');
    const { rows: before } = await rig.pool.query(
      `SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'pending'`,
    );
    // The premise: the kill left events undelivered.
    expect(before[0].n).toBeGreaterThan(0);

    receiver.delayMs = 0;
    await rig.start();
    await eventually(
      async () => {
        const got = new Set(receiver.at('/crash').map((r) => r.json.data.email_id));
        return ids.every((id) => got.has(id));
      },
      60_000,
      200,
    );
    await eventually(async () => {
      const { rows } = await rig.pool.query(
        `SELECT count(*)::int AS n FROM webhook_deliveries WHERE status <> 'succeeded'`,
      );
      return rows[0].n === 0;
    }, 20_000);
    const { rows: after } = await rig.pool.query(`SELECT count(*)::int AS n FROM webhook_deliveries`);
    expect(after[0].n).toBe(30);
    // Every event keeps its webhook-id however many times it was attempted.
    const byEmail = new Map<string, Set<string>>();
    for (const r of receiver.at('/crash')) {
      const s = byEmail.get(r.json.data.email_id) ?? new Set();
      s.add(String(r.headers['webhook-id']));
      byEmail.set(r.json.data.email_id, s);
    }
    for (const s of byEmail.values()) expect(s.size).toBe(1);
  });
});
