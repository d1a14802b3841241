import type { Logger } from '../lib/logger.js';
import type { JobHandlers } from '../queue/dispatcher.js';
import type { BulkService } from '../services/bulk.service.js';
import type { DeliveryService } from '../services/delivery.service.js';
import type { OutboundWebhooksService } from '../services/outbound-webhooks.service.js';

/** Thin job handlers: load by id → call a service → log the outcome. */
export function jobHandlers(deps: {
  delivery: DeliveryService;
  bulk: BulkService;
  outboundWebhooks: OutboundWebhooksService;
  logger: Logger;
}): JobHandlers {
  const { delivery, bulk, outboundWebhooks, logger } = deps;
  return {
    'mail.send': async ({ emailId }) => {
      const result = await delivery.deliver(emailId);
      if (result.kind !== 'skipped') logger.debug({ emailId, result }, 'delivery attempt');
      if (result.kind === 'lost_claim')
        logger.warn({ emailId }, 'claim lost before the outcome was recorded');
    },
    'mail.scheduled': async ({ emailId }) => {
      await delivery.promote(emailId);
    },
    'mail.bulk': async ({ bulkJobId }) => {
      const { created } = await bulk.fanout(bulkJobId);
      if (created > 0) logger.info({ bulkJobId, created }, 'bulk job fanned out');
    },
    'mail.dlq': async (p) => {
      logger.warn(p, 'email dead-lettered');
    },
    'mail.webhooks': async ({ deliveryId }) => {
      const result = await outboundWebhooks.deliver(deliveryId);
      if (result !== 'skipped') logger.debug({ deliveryId, result }, 'webhook attempt');
    },
  };
}
