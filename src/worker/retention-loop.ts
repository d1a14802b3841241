import type { Logger } from '../lib/logger.js';
import { startPeriodic } from './periodic.js';

/** How often stored content past its retention is looked for: cheap, and nothing is urgent. */
export const RETENTION_INTERVAL_MS = 10 * 60_000;

/**
 * Removes what is kept only for a while: attachment content no email needs any more
 * (ATTACHMENT_RETENTION_DAYS after it is final), inbox messages beyond INBOX_MAX_MESSAGES, and
 * finished tenant webhook deliveries older than WEBHOOK_DELIVERY_RETENTION_DAYS.
 * Every step is an idempotent DELETE, so workers running it at once only repeat each other.
 */
export function startRetentionLoop(
  steps: Record<string, () => Promise<number>>,
  logger: Logger,
  intervalMs = RETENTION_INTERVAL_MS,
) {
  return startPeriodic({
    name: 'retention',
    intervalMs,
    logger,
    tick: async () => {
      const removed: Record<string, number> = {};
      for (const [name, step] of Object.entries(steps)) removed[name] = await step();
      return removed;
    },
    onResult: (removed) => {
      if (Object.values(removed).some((n) => n > 0)) logger.debug(removed, 'retention removed');
    },
  });
}
