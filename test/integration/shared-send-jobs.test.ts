import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { System } from '../../src/main/system.js';
import { eventually, type Harness, startHarness } from '../support/harness.js';

/**
 * Emails accepted together by /send share one mail.send job; the recovery loop re-dispatches
 * email by email. An email still waiting in its shared job after the grace gets a second job —
 * and is still sent exactly once (docs/architecture.md, "Crash recovery").
 */
describe('shared send jobs and the recovery loop', () => {
  let h: Harness;
  let worker: System | null = null;

  beforeAll(async () => {
    h = await startHarness({
      roles: { api: true, worker: false },
      env: { RECOVERY_GRACE_SECONDS: '1', WORKER_CONCURRENCY: '4' },
    });
  });
  afterAll(async () => {
    await worker?.stop();
    await h?.close();
  });

  it('sends each email of a backlog once, though shared jobs and re-dispatched ones both hold it', async () => {
    const tenant = await h.createTenant();
    const templateId = await h.createTemplate(tenant.key);
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        h.request('POST', '/send', {
          key: tenant.key,
          body: {
            recipient: { email: `backlog-${i}@example.com` },
            template_id: templateId,
            variables: { name: `${i}` },
          },
        }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(40).fill(202));
    const ids = answers.map((a) => a.body.email_id as string);
    const shared = (await h.system.dispatcher.stats('mail.send')).waiting;
    // Fewer jobs than emails: the requests in flight together share theirs.
    expect(shared).toBeLessThan(40);

    // Older than the grace, no worker yet: the recovery loop re-dispatches each email.
    await new Promise((r) => setTimeout(r, 1500));
    const tick = await h.system.services.recovery.tick();
    expect(tick).toMatchObject({ leader: true, redispatched: 40 });
    expect((await h.system.dispatcher.stats('mail.send')).waiting).toBe(shared + 40);

    worker = await h.startPeer({ roles: { api: false, worker: true } });
    await eventually(
      async () =>
        (
          await h.sql(
            `SELECT count(*)::int AS n FROM emails WHERE id = ANY($1::uuid[]) AND status = 'sent'`,
            [ids],
          )
        )[0].n === 40,
      60_000,
      200,
    );
    // Every job has run (the later one of each pair found its email sent) before the sink is counted.
    await eventually(async () => {
      const s = await h.system.dispatcher.stats('mail.send');
      return s.waiting + s.active === 0;
    }, 30_000);
    const perRecipient = h.sink.perRecipient('backlog-');
    expect(perRecipient.size).toBe(40);
    expect([...perRecipient.values()].filter((n) => n !== 1)).toEqual([]);
    const events = await h.sql(
      `SELECT count(*)::int AS n FROM email_events WHERE email_id = ANY($1::uuid[]) AND type = 'sent'`,
      [ids],
    );
    expect(events[0].n).toBe(40);
  }, 120_000);
});
