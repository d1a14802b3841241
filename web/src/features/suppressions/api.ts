import { keepPreviousData, queryOptions } from '@tanstack/react-query';
import { client, type SuppressionReason, unwrap } from '../../lib/api';
import { type MutationConfigFor, useInvalidatingMutation } from '../../lib/query';

/** Every reason the API accepts (the type keeps the list complete), in the order offered. */
const REASONS: Record<SuppressionReason, true> = {
  manual: true,
  unsubscribe: true,
  hard_bounce: true,
  complaint: true,
};
export const SUPPRESSION_REASONS = Object.keys(REASONS) as SuppressionReason[];
export type { SuppressionReason };

export const suppressionQueries = {
  all: ['suppressions'] as const,
  list: (cursor?: string) =>
    queryOptions({
      queryKey: [...suppressionQueries.all, cursor ?? null],
      queryFn: () => unwrap(client.GET('/suppressions', { params: { query: { cursor, limit: 50 } } })),
      placeholderData: keepPreviousData,
    }),
};

const add = (body: { email: string; reason: SuppressionReason }) =>
  unwrap(client.POST('/suppressions', { body }));
const remove = (email: string) =>
  unwrap(client.DELETE('/suppressions/{email}', { params: { path: { email } } }));

export const useAddSuppression = (config?: MutationConfigFor<typeof add>) =>
  useInvalidatingMutation(add, suppressionQueries.all, config);
export const useRemoveSuppression = (config?: MutationConfigFor<typeof remove>) =>
  useInvalidatingMutation(remove, suppressionQueries.all, config);
