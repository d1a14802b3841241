import { expect } from 'vitest';
import type { Dispatcher } from '../../src/queue/dispatcher.js';

/**
 * The `pending` promise of the Dispatcher port, as every adapter keeps it: a waiting or delayed
 * job is held, a finished or unknown one is not.
 */
export async function expectPendingContract(d: Dispatcher): Promise<void> {
  await d.dispatch('mail.send', [
    { payload: { emailIds: ['p1', 'p2'] }, jobId: 'p1.batch' },
    { payload: { emailIds: ['p3', 'p4'] }, jobId: 'p3.batch', delayMs: 60_000 },
  ]);
  expect(await d.pending('mail.send', ['p1.batch', 'p3.batch', 'never.batch'])).toEqual(
    new Set(['p1.batch', 'p3.batch']),
  );
  const ran: string[] = [];
  const consumer = d.consume(
    { 'mail.send': async (_p, { jobId }) => void ran.push(jobId) },
    { concurrency: { 'mail.send': 1 } },
  );
  try {
    await expect
      .poll(() => d.pending('mail.send', ['p1.batch', 'p3.batch']), { timeout: 10_000 })
      .toEqual(new Set(['p3.batch']));
    expect(ran).toEqual(['p1.batch']);
  } finally {
    await consumer.close();
  }
}
