import { describe, expect, it } from 'vitest';
import { batchedLookup, microBatch } from './micro-batch.js';

describe('microBatch', () => {
  it('serves calls made together in few batches, each caller its own result', async () => {
    const batches: number[][] = [];
    const double = microBatch<number, number>({
      maxBatch: 10,
      maxInFlight: 1,
      async run(items) {
        batches.push(items);
        return items.map((i) => i * 2);
      },
    });
    const results = await Promise.all(Array.from({ length: 25 }, (_, i) => double(i)));
    expect(results).toEqual(Array.from({ length: 25 }, (_, i) => i * 2));
    expect(batches.map((b) => b.length)).toEqual([10, 10, 5]);
  });

  it('fails one item for an Error result, every item of a batch that rejects', async () => {
    const odd = microBatch<number, number>({
      async run(items) {
        return items.map((i) => (i % 2 ? new Error(`odd ${i}`) : i));
      },
    });
    const settled = await Promise.allSettled([odd(1), odd(2), odd(3)]);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'fulfilled', 'rejected']);

    const down = microBatch<number, number>({
      run: async () => {
        throw new Error('down');
      },
    });
    const all = await Promise.allSettled([down(1), down(2)]);
    expect(all.map((s) => (s.status === 'rejected' ? (s.reason as Error).message : 'ok'))).toEqual([
      'down',
      'down',
    ]);
  });

  it('looks each distinct key up once per batch', async () => {
    const asked: string[][] = [];
    const lookup = batchedLookup<string, string>({
      keyOf: (k) => k,
      async load(keys) {
        asked.push(keys);
        return new Map(keys.filter((k) => k !== 'none').map((k) => [k, k.toUpperCase()]));
      },
    });
    expect(await Promise.all(['a', 'b', 'a', 'none'].map(lookup))).toEqual(['A', 'B', 'A', undefined]);
    expect(asked).toEqual([['a', 'b', 'none']]);
  });
  it('queues calls behind a running batch into the next one, at most maxBatch each', async () => {
    const batches: number[][] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const call = microBatch<number, number>({
      maxBatch: 2,
      maxInFlight: 1,
      run: async (items) => {
        batches.push(items);
        if (batches.length === 1) await gate;
        return items;
      },
    });
    const first = call(0);
    await new Promise((r) => setImmediate(r));
    const rest = [1, 2, 3].map((i) => call(i));
    release();
    expect(await Promise.all([first, ...rest])).toEqual([0, 1, 2, 3]);
    expect(batches).toEqual([[0], [1, 2], [3]]);
  });

  it('goes on with the next batch after one that failed', async () => {
    let n = 0;
    const call = microBatch<string, string>({
      run: async (items) => {
        n++;
        if (n === 1) throw new Error('database away');
        return items;
      },
    });
    const failed = await Promise.allSettled([call('a'), call('b')]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await call('c')).toBe('c');
  });
});
