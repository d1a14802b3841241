import { describe, expect, it } from 'vitest';
import { expectPendingContract } from '../../test/support/dispatcher-contract.js';
import { createInProcessDispatcher } from './in-process.dispatcher.js';
import { emailIdsOf } from './jobs.js';

const waitUntil = async (check: () => boolean, ms = 2000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('in-process dispatcher', () => {
  it('runs each job once per job id while it exists, and honours delays', async () => {
    const d = createInProcessDispatcher();
    const seen: string[] = [];
    d.consume(
      { 'mail.send': async (p) => void seen.push(...emailIdsOf(p)) },
      { concurrency: { 'mail.send': 2 } },
    );
    await d.dispatch('mail.send', [
      { payload: { emailId: 'a' }, jobId: 'a.0' },
      { payload: { emailId: 'a' }, jobId: 'a.0' },
      { payload: { emailId: 'b' }, jobId: 'b.0', delayMs: 50 },
    ]);
    await waitUntil(() => seen.length === 2);
    expect(seen).toEqual(['a', 'b']);
    await d.close();
  });

  it('runs unprioritised jobs before prioritised ones', async () => {
    const d = createInProcessDispatcher();
    await d.dispatch('mail.send', [
      { payload: { emailId: 'bulk-1' }, jobId: 'b1', priority: 10 },
      { payload: { emailId: 'bulk-2' }, jobId: 'b2', priority: 10 },
      { payload: { emailId: 'tx' }, jobId: 'tx' },
    ]);
    const seen: string[] = [];
    d.consume(
      { 'mail.send': async (p) => void seen.push(...emailIdsOf(p)) },
      { concurrency: { 'mail.send': 1 } },
    );
    await waitUntil(() => seen.length === 3);
    expect(seen).toEqual(['tx', 'bulk-1', 'bulk-2']);
    await d.close();
  });

  it('retries a handler that throws', async () => {
    const d = createInProcessDispatcher();
    let calls = 0;
    d.consume(
      {
        'mail.send': async () => {
          calls++;
          if (calls === 1) throw new Error('database away');
        },
      },
      { concurrency: { 'mail.send': 1 } },
    );
    await d.dispatch('mail.send', [{ payload: { emailId: 'x' }, jobId: 'x' }]);
    await waitUntil(() => calls === 2, 3000);
    await d.close();
  });

  it('reports its empty start once, so recovery sweeps at start-up', async () => {
    const d = createInProcessDispatcher();
    expect(await d.brokerWasReset()).toBe(true);
    expect(await d.brokerWasReset()).toBe(false);
  });

  it('tells which jobs it still holds: waiting or delayed, not finished or unknown', async () => {
    const d = createInProcessDispatcher();
    await expectPendingContract(d);
    await d.close();
  });
});
