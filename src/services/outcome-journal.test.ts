import { describe, expect, it } from 'vitest';
import { createOutcomeJournal } from './outcome-journal.js';

describe('outcome journal', () => {
  it('writes what it keeps in order, stopping at the first failure and resuming there', async () => {
    const journal = createOutcomeJournal();
    const written: string[] = [];
    let databaseUp = false;
    const write = (what: string) => async () => {
      if (!databaseUp) throw new Error('ECONNREFUSED');
      written.push(what);
    };
    journal.keep('sent a.1', write('a'));
    journal.keep('sent b.1', write('b'));
    expect(await journal.flush()).toBe(0);
    expect(journal.size).toBe(2);
    databaseUp = true;
    journal.keep('hand back c.2', write('c'));
    expect(await journal.flush()).toBe(3);
    expect(written).toEqual(['a', 'b', 'c']);
    expect(journal.size).toBe(0);
  });

  it('runs one flush at a time: an entry is never written twice by overlapping flushes', async () => {
    const journal = createOutcomeJournal();
    let runs = 0;
    journal.keep('sent a.1', async () => {
      runs++;
      await new Promise((r) => setTimeout(r, 20));
    });
    const [x, y] = await Promise.all([journal.flush(), journal.flush()]);
    expect(x + y).toBeGreaterThanOrEqual(1);
    expect(runs).toBe(1);
  });
});
