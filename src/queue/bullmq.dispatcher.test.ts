import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { expectPendingContract } from '../../test/support/dispatcher-contract.js';
import { TEST_REDIS_URL } from '../../test/support/env.js';
import { deleteRedisPrefix } from '../../test/support/harness.js';
import { createBullmqDispatcher } from './bullmq.dispatcher.js';

describe('the BullMQ dispatcher', () => {
  const prefix = `mstest-bq-${randomBytes(3).toString('hex')}`;
  const d = createBullmqDispatcher({
    redisUrl: TEST_REDIS_URL,
    prefix,
    handlerRetries: { attempts: 2, backoffMs: 20 },
  });
  afterAll(async () => {
    await d.close();
    await deleteRedisPrefix(TEST_REDIS_URL, prefix);
  });

  it('lets a job that kept failing be dispatched again under the same id', async () => {
    let calls = 0;
    let healthy = false;
    const consumer = d.consume(
      {
        'mail.send': async () => {
          calls++;
          if (!healthy) throw new Error('database away');
        },
      },
      { concurrency: { 'mail.send': 1 } },
    );
    try {
      await d.dispatch('mail.send', [{ payload: { emailId: 'e' }, jobId: 'e.0' }]);
      await expect.poll(() => calls, { timeout: 10_000 }).toBe(2);
      // Gone from Redis once it failed for good, so the same id (what the recovery loop dispatches)
      // is taken again rather than ignored.
      await expect
        .poll(async () => (await d.stats('mail.send')).waiting + (await d.stats('mail.send')).active, {
          timeout: 5000,
        })
        .toBe(0);
      healthy = true;
      await d.dispatch('mail.send', [{ payload: { emailId: 'e' }, jobId: 'e.0' }]);
      await expect.poll(() => calls, { timeout: 10_000 }).toBe(3);
    } finally {
      await consumer.close();
    }
  });

  it('tells which jobs it still holds: waiting or delayed, not finished or unknown', async () => {
    await expectPendingContract(d);
  });
});
