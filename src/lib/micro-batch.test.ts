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
});
