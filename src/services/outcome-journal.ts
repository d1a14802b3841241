/**
 * Writes that must not be lost while PostgreSQL is away: an outcome the provider already gave
 * (the relay said 250) or a claim to hand back. Each entry is retried, in order, until it is
 * written — under the fencing token it was made with, so a message the relay accepted is recorded
 * as sent rather than sent again, and an interrupted delivery goes back to the queue at once
 * instead of waiting out its lease.
 *
 * Kept in this process's memory: a process killed during a database outage loses its entries, and
 * those emails fall back to the lease (at least once, as after any crash; docs/architecture.md).
 */
export interface OutcomeJournal {
  /** Keeps `write` and runs it until it succeeds. */
  keep(what: string, write: () => Promise<unknown>): void;
  /** Runs what is kept, oldest first; stops at the first failure. Resolves the count written. */
  flush(): Promise<number>;
  readonly size: number;
}

export function createOutcomeJournal(opts: { onKept?: (what: string, size: number) => void } = {}) {
  const entries: Array<{ what: string; write: () => Promise<unknown> }> = [];
  let flushing: Promise<number> | null = null;
  const journal: OutcomeJournal = {
    keep(what, write) {
      entries.push({ what, write });
      opts.onKept?.(what, entries.length);
    },
    flush() {
      flushing ??= (async () => {
        let written = 0;
        try {
          while (entries.length > 0) {
            const next = entries[0];
            if (!next) break;
            await next.write();
            entries.shift();
            written++;
          }
        } catch {
          // Still away: the rest waits for the next flush, in the same order.
        }
        return written;
      })().finally(() => {
        flushing = null;
      });
      return flushing;
    },
    get size() {
      return entries.length;
    },
  };
  return journal;
}
