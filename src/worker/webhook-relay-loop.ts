import type { Logger } from '../lib/logger.js';
import type { OutboundWebhooksService } from '../services/outbound-webhooks.service.js';
import { startPeriodic } from './periodic.js';

/** Moves due outbox rows (tenant webhooks) into mail.webhooks every `intervalMs` until stopped. */
export function startWebhookRelayLoop(webhooks: OutboundWebhooksService, intervalMs: number, logger: Logger) {
  return startPeriodic({
    name: 'webhook relay',
    intervalMs,
    logger,
    tick: () => webhooks.relay(),
    onResult: (n) => {
      if (n > 0) logger.debug({ dispatched: n }, 'webhook deliveries dispatched');
    },
  });
}
