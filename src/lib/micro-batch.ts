/**
 * Micro-batching: calls that arrive while earlier ones are being served wait together and are
 * served by one `run` (one statement, one round trip) instead of one each. Nothing waits for a
 * timer: a batch starts as soon as fewer than `maxInFlight` are running (on the next turn of the
 * event loop, so calls made in the same turn share it); under load the batches simply grow, up to
 * `maxBatch`. One caller's answer never waits for more than the batch it is in.
 */
export interface MicroBatchOptions<I, R> {
  /**
   * Serves a batch: one result per item, in order. A result that is an `Error` fails that item
   * only; a rejection fails the whole batch (each caller gets the rejection).
   */
  run: (items: I[]) => Promise<(R | Error)[]>;
  maxBatch?: number;
  maxInFlight?: number;
  /**
   * How long a batch that found nothing running waits for company before it starts (ms); 0 (the
   * default): the next turn of the event loop. Calls that arrive while a batch runs never wait
   * for it: they go as soon as it ends.
   */
  waitMs?: number;
}

interface Waiting<I, R> {
  item: I;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

export function microBatch<I, R>(opts: MicroBatchOptions<I, R>): (item: I) => Promise<R> {
  const maxBatch = Math.max(1, opts.maxBatch ?? 100);
  const maxInFlight = Math.max(1, opts.maxInFlight ?? 2);
  let queue: Waiting<I, R>[] = [];
  let inFlight = 0;
  let scheduled = false;

  const waitMs = Math.max(0, opts.waitMs ?? 0);
  const schedule = (afterBatch: boolean) => {
    if (scheduled || inFlight >= maxInFlight || queue.length === 0) return;
    scheduled = true;
    if (waitMs > 0 && !afterBatch && queue.length < maxBatch) setTimeout(start, waitMs);
    else setImmediate(start);
  };

  const start = () => {
    scheduled = false;
    while (queue.length > 0 && inFlight < maxInFlight) {
      const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
      queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch);
      inFlight++;
      serve(batch).finally(() => {
        inFlight--;
        schedule(true);
      });
    }
  };

  const serve = async (batch: Waiting<I, R>[]) => {
    let results: (R | Error)[];
    try {
      results = await opts.run(batch.map((w) => w.item));
    } catch (e) {
      for (const w of batch) w.reject(e);
      return;
    }
    for (const [i, w] of batch.entries()) {
      const r = results[i];
      if (r instanceof Error) w.reject(r);
      else if (i >= results.length) w.reject(new Error('a batch gave fewer results than items'));
      else w.resolve(r as R);
    }
  };

  return (item: I) =>
    new Promise<R>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      schedule(false);
    });
}

/**
 * A keyed lookup through `microBatch`: equal keys in one batch are looked up once; `load` gets the
 * distinct keys and answers by key (absent: `undefined`).
 */
export function batchedLookup<K, V>(opts: {
  keyOf: (k: K) => string;
  load: (keys: K[]) => Promise<Map<string, V>>;
  maxBatch?: number;
  maxInFlight?: number;
}): (key: K) => Promise<V | undefined> {
  return microBatch<K, V | undefined>({
    maxBatch: opts.maxBatch ?? 200,
    maxInFlight: opts.maxInFlight ?? 2,
    async run(keys) {
      const distinct = new Map<string, K>();
      for (const k of keys) distinct.set(opts.keyOf(k), k);
      const found = await opts.load([...distinct.values()]);
      return keys.map((k) => found.get(opts.keyOf(k)));
    },
  });
}
