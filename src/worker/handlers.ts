import PQueue from 'p-queue';
import type { Logger } from '../lib/logger.js';
import type { JobHandlers } from '../queue/dispatcher.js';
import { emailIdsOf } from '../queue/jobs.js';
import type { BulkService } from '../services/bulk.service.js';
import type { DeliveryService } from '../services/delivery.service.js';
import type { OutboundWebhooksService } from '../services/outbound-webhooks.service.js';

/** Thin job handlers: load by id → call a service → log the outcome. */
export function jobHandlers(deps: {
  delivery: DeliveryService;
  bulk: BulkService;
  outboundWebhooks: OutboundWebhooksService;
  logger: Logger;
  /** How many deliveries this process runs at once, however many emails each job carries. */
  deliveryConcurrency: number;
  /** True once the process is shutting down: deliveries not yet begun are left to the job's next run. */
  isStopping?: () => boolean;
}): JobHandlers {
  const { delivery, bulk, outboundWebhooks, logger } = deps;
  // One queue of deliveries for the process. A job may carry many emails (a /send statement's, or
  // BULK_JOB_EMAILS of a bulk send): transactional mail must not wait behind the bulk emails
  // already taken in (higher priority runs first).
  const deliveries = new PQueue({ concurrency: deps.deliveryConcurrency });
  return {
    'mail.send': async (job) => {
      let left = 0;
      const deliverOne = async (emailId: string) => {
        if (deps.isStopping?.()) {
          left++;
          return;
        }
        const result = await delivery.deliver(emailId);
        if (result.kind !== 'skipped') logger.debug({ emailId, result }, 'delivery attempt');
        if (result.kind === 'lost_claim')
          logger.warn({ emailId }, 'claim lost before the outcome was recorded');
      };
      // Every email of the job is tried; if one failed, the job fails and is tried again (the
      // emails already sent are not claimed again).
      const priority = job.bulk ? 0 : 1;
      const settled = await Promise.allSettled(
        emailIdsOf(job).map((id) => deliveries.add(() => deliverOne(id), { priority })),
      );
      const failed = settled.find((s) => s.status === 'rejected');
      if (failed) throw failed.reason;
      // Failing keeps the job (retried by the broker, and seen as pending by the recovery loop).
      if (left > 0) throw new Error(`worker stopping: ${left} email(s) left to the job's next run`);
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
