import { queryOptions } from '@tanstack/react-query';
import { client, type InboxMessage, type InboxSummary, unwrap } from '../../lib/api';
import { type MutationConfigFor, useInvalidatingMutation } from '../../lib/query';

export type { InboxMessage, InboxSummary };

/** Query options, one factory per read; keys start with 'inbox' so one invalidation refreshes all. */
export const inboxQueries = {
  all: ['inbox'] as const,
  /** Captured messages arrive while a developer watches: looked at again every few seconds. */
  list: (q: string, cursor: string | undefined) =>
    queryOptions({
      queryKey: [...inboxQueries.all, 'list', q, cursor ?? null],
      queryFn: () =>
        unwrap(client.GET('/inbox', { params: { query: { cursor, limit: 50, ...(q ? { q } : {}) } } })),
      refetchInterval: 5000,
    }),
  one: (id: string) =>
    queryOptions({
      queryKey: [...inboxQueries.all, 'one', id],
      queryFn: () => unwrap(client.GET('/inbox/{id}', { params: { path: { id } } })),
    }),
};

const remove = (id: string) => unwrap(client.DELETE('/inbox/{id}', { params: { path: { id } } }));

export const useDeleteInboxMessage = (config?: MutationConfigFor<typeof remove>) =>
  useInvalidatingMutation(remove, inboxQueries.all, config);
