/**
 * Coalesces concurrent calls into one batch call: what callers submit while a batch is on its way
 * (or within the same turn of the event loop) goes out together in the next one. There is no
 * artificial delay: a lone call goes out at once (after the current turn), and batches grow only
 * when calls pile up behind a running one — which is exactly when a round trip per call costs the
 * most. Each caller is settled with its own result once the batch it rode in has finished.
 */
export interface Batcher<I, O> {
  submit(item: I): Promise<O>;
  /** Calls waiting for a batch or in one that is running. */
  readonly pending: number;
}

export function createBatcher<I, O>(opts: {
  /** Runs one batch; returns one result per item, in the same order. */
  run(items: I[]): Promise<O[]>;
  /** Items per batch at most. */
  maxBatch: number;
  /** Batches running at once at most (default 1). */
  maxInFlight?: number;
}): Batcher<I, O> {
  const maxInFlight = Math.max(1, opts.maxInFlight ?? 1);
  const maxBatch = Math.max(1, opts.maxBatch);
  type Waiting = { item: I; resolve: (o: O) => void; reject: (e: unknown) => void };
  let queue: Waiting[] = [];
  let inFlight = 0;
  let scheduled = false;
  let running = 0;

  const pump = () => {
    scheduled = false;
    while (inFlight < maxInFlight && queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      inFlight++;
      running += batch.length;
      // The batch is counted out before its callers hear back, so `pending` is already true then.
      const done = () => {
        inFlight--;
        running -= batch.length;
        if (queue.length > 0) schedule();
      };
      opts.run(batch.map((w) => w.item)).then(
        (results) => {
          done();
          if (results.length !== batch.length) {
            const e = new Error(`a batch of ${batch.length} returned ${results.length} results`);
            for (const w of batch) w.reject(e);
            return;
          }
          for (const [i, w] of batch.entries()) w.resolve(results[i] as O);
        },
        (e: unknown) => {
          done();
          for (const w of batch) w.reject(e);
        },
      );
    }
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    // After the current turn, so that calls made together (a burst of jobs) share one batch.
    setImmediate(pump);
  };

  return {
    submit(item) {
      return new Promise<O>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        if (inFlight < maxInFlight) schedule();
      });
    },
    get pending() {
      return queue.length + running;
    },
  };
}
