import { queryOptions } from '@tanstack/react-query';
import { type BulkJob, type BulkRequest, client, unwrap } from '../../lib/api';
import { type MutationConfigFor, useInvalidatingMutation } from '../../lib/query';

export const FINISHED: ReadonlySet<string> = new Set<BulkJob['status']>(['completed', 'cancelled']);

/** Finished, and nothing of it left in the queue. */
export const isSettled = (j: BulkJob) =>
  j.status === 'cancelled' || (FINISHED.has(j.status) && j.queued === 0);

/** Emails of the job that are past the queue: what the progress bar counts. */
export const doneCount = (j: BulkJob) => Math.min(j.total, j.sent + j.delivered + j.failed + j.skipped);

export const bulkQueries = {
  all: ['bulk'] as const,
  job: (id: string) =>
    queryOptions({
      queryKey: [...bulkQueries.all, id],
      queryFn: () => unwrap(client.GET('/bulk/{id}', { params: { path: { id } } })),
      // Poll until the job is settled.
      refetchInterval: (q) => (q.state.data && isSettled(q.state.data) ? false : 1000),
    }),
};

const sendBulk = (body: BulkRequest) => unwrap(client.POST('/send/bulk', { body }));
const cancelBulk = (id: string) => unwrap(client.POST('/bulk/{id}/cancel', { params: { path: { id } } }));

export const useSendBulk = (config?: MutationConfigFor<typeof sendBulk>) =>
  useInvalidatingMutation(sendBulk, bulkQueries.all, config);
export const useCancelBulk = (config?: MutationConfigFor<typeof cancelBulk>) =>
  useInvalidatingMutation(cancelBulk, bulkQueries.all, config);
