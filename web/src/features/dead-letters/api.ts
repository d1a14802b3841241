import { keepPreviousData, queryOptions } from '@tanstack/react-query';
import { client, unwrap } from '../../lib/api';
import { type MutationConfigFor, useInvalidatingMutation } from '../../lib/query';

export const deadLetterQueries = {
  all: ['dead-letters'] as const,
  list: (includeRetried: boolean, cursor?: string) =>
    queryOptions({
      queryKey: [...deadLetterQueries.all, includeRetried, cursor ?? null],
      queryFn: () =>
        unwrap(
          client.GET('/dead-letters', {
            params: { query: { include_retried: includeRetried, cursor, limit: 50 } },
          }),
        ),
      placeholderData: keepPreviousData,
    }),
};

const retry = (id: string) => unwrap(client.POST('/dead-letters/{id}/retry', { params: { path: { id } } }));

export const useRetryDeadLetter = (config?: MutationConfigFor<typeof retry>) =>
  useInvalidatingMutation(retry, deadLetterQueries.all, config);
