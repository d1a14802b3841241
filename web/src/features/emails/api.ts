import { keepPreviousData, queryOptions } from '@tanstack/react-query';
import { client, type EmailFilters, unwrap } from '../../lib/api';
import { MOVING_STATUSES } from '../../lib/email-status';
import { type MutationConfigFor, useInvalidatingMutation } from '../../lib/query';

export type { EmailFilters };

export const emailQueries = {
  all: ['emails'] as const,
  list: (filters: EmailFilters, cursor?: string) =>
    queryOptions({
      queryKey: [...emailQueries.all, 'list', filters, cursor ?? null],
      queryFn: () => unwrap(client.GET('/emails', { params: { query: { ...filters, cursor, limit: 50 } } })),
      placeholderData: keepPreviousData,
    }),
  one: (id: string) =>
    queryOptions({
      queryKey: [...emailQueries.all, 'one', id],
      queryFn: () => unwrap(client.GET('/emails/{id}', { params: { path: { id } } })),
      // Watch an email that is still on its way; webhooks move it further later, on reload.
      refetchInterval: (q) => (q.state.data && MOVING_STATUSES.has(q.state.data.status) ? 1000 : false),
    }),
};

const cancel = (id: string) => unwrap(client.POST('/emails/{id}/cancel', { params: { path: { id } } }));

export const useCancelEmail = (config?: MutationConfigFor<typeof cancel>) =>
  useInvalidatingMutation(cancel, emailQueries.all, config);
