import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { System } from '../../src/main/system.js';
import { TEST_REDIS_URL } from '../support/env.js';
import { eventually, type Harness, startHarness } from '../support/harness.js';

/**
 * Emails accepted together by /send share one mail.send job, and store its key until claimed. The
 * recovery loop leaves a backlog alone while its shared jobs are in the queue, and re-dispatches it
 * email by email once they are gone (docs/architecture.md, "Crash recovery").
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

  it('leaves a backlog to its shared jobs, re-dispatches it email by email once they are lost, and sends each once', async () => {
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

    // Older than the grace, no worker yet: the shared jobs still hold every email.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await h.system.services.recovery.tick()).toMatchObject({ leader: true, redispatched: 0 });
    expect((await h.system.dispatcher.stats('mail.send')).waiting).toBe(shared);

    // The jobs are lost (Redis otherwise intact): each email gets a job of its own.
    const queue = new Queue('mail.send', { prefix: h.prefix, connection: { url: TEST_REDIS_URL } });
    try {
      await queue.drain();
    } finally {
      await queue.close();
    }
    expect((await h.system.dispatcher.stats('mail.send')).waiting).toBe(0);
    expect(await h.system.services.recovery.tick()).toMatchObject({ leader: true, redispatched: 40 });
    expect((await h.system.dispatcher.stats('mail.send')).waiting).toBe(40);

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
    // Every job has run before the sink is counted.
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
