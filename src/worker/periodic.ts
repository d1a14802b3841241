import type { Logger } from '../lib/logger.js';

/**
 * Runs `tick` now and then every `intervalMs` after the previous run ended (never two at once in
 * this process) until stopped. A failing tick (PostgreSQL or Redis away) is logged once, when it
 * starts failing, and tried again on the next interval.
 */
export function startPeriodic<R>(opts: {
  name: string;
  intervalMs: number;
  logger: Logger;
  tick: () => Promise<R>;
  onResult?: (r: R) => void;
}) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  let failing = false;

  const run = async () => {
    try {
      const r = await opts.tick();
      if (failing) opts.logger.info(`${opts.name} works again`);
      failing = false;
      opts.onResult?.(r);
    } catch (err) {
      if (!failing) opts.logger.warn({ err }, `${opts.name} failed; will retry`);
      failing = true;
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = run().finally(schedule);
    }, opts.intervalMs);
  };
  running = run().finally(schedule);

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
