import { describe, expect, it } from 'vitest';
import { createBatcher } from './batcher.js';

describe('createBatcher', () => {
  it('sends calls made together in one batch and gives each caller its own result', async () => {
    const batches: number[][] = [];
    const b = createBatcher<number, number>({
      maxBatch: 10,
      run: async (items) => {
        batches.push(items);
        return items.map((i) => i * 2);
      },
    });
    expect(await Promise.all([1, 2, 3].map((i) => b.submit(i)))).toEqual([2, 4, 6]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('queues calls behind a running batch into the next one, at most maxBatch each', async () => {
    const batches: number[][] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const b = createBatcher<number, number>({
      maxBatch: 2,
      run: async (items) => {
        batches.push(items);
        if (batches.length === 1) await gate;
        return items;
      },
    });
    const first = b.submit(0);
    await new Promise((r) => setImmediate(r));
    const rest = [1, 2, 3].map((i) => b.submit(i));
    release();
    expect(await Promise.all([first, ...rest])).toEqual([0, 1, 2, 3]);
    expect(batches).toEqual([[0], [1, 2], [3]]);
    expect(b.pending).toBe(0);
  });

  it('rejects every caller of a failed batch and goes on with the next', async () => {
    let n = 0;
    const b = createBatcher<string, string>({
      maxBatch: 10,
      run: async (items) => {
        n++;
        if (n === 1) throw new Error('database away');
        return items;
      },
    });
    const failed = await Promise.allSettled([b.submit('a'), b.submit('b')]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await b.submit('c')).toBe('c');
  });
});
