import { queryOptions } from '@tanstack/react-query';
import { client, type DnsRecord, type Domain, type DomainStatus, unwrap } from '../../lib/api';
import { type MutationConfigFor, useInvalidatingMutation } from '../../lib/query';

export type { DnsRecord, Domain, DomainStatus };

/** Query options, one factory per read; keys start with 'domains' so one invalidation refreshes all. */
export const domainQueries = {
  all: ['domains'] as const,
  list: (cursor: string | undefined) =>
    queryOptions({
      queryKey: [...domainQueries.all, 'list', cursor ?? null],
      queryFn: () => unwrap(client.GET('/domains', { params: { query: { cursor, limit: 50 } } })),
    }),
  /**
   * One domain as DNS answers now. Until it can send, it is looked at again every few seconds,
   * so the page shows a record turning green soon after it is published.
   */
  one: (id: string) =>
    queryOptions({
      queryKey: [...domainQueries.all, 'one', id],
      queryFn: () => unwrap(client.GET('/domains/{id}', { params: { path: { id } } })),
      refetchInterval: (q) =>
        q.state.data && q.state.data.status === 'verified' && !q.state.data.pending_dkim_selector
          ? false
          : 10_000,
    }),
  defaults: () =>
    queryOptions({
      queryKey: [...domainQueries.all, 'defaults'],
      queryFn: () => unwrap(client.GET('/sending-defaults')),
    }),
};

const create = (body: { name: string; return_path?: string }) => unwrap(client.POST('/domains', { body }));
const verify = (id: string) => unwrap(client.POST('/domains/{id}/verify', { params: { path: { id } } }));
const rotateDkim = (id: string) =>
  unwrap(client.POST('/domains/{id}/rotate-dkim', { params: { path: { id } } }));
const remove = (id: string) => unwrap(client.DELETE('/domains/{id}', { params: { path: { id } } }));
const setDefaults = (body: { from: string | null; reply_to: string | null }) =>
  unwrap(client.PUT('/sending-defaults', { body }));

export const useCreateDomain = (config?: MutationConfigFor<typeof create>) =>
  useInvalidatingMutation(create, domainQueries.all, config);
export const useVerifyDomain = (config?: MutationConfigFor<typeof verify>) =>
  useInvalidatingMutation(verify, domainQueries.all, config);
export const useRotateDkim = (config?: MutationConfigFor<typeof rotateDkim>) =>
  useInvalidatingMutation(rotateDkim, domainQueries.all, config);
export const useRemoveDomain = (config?: MutationConfigFor<typeof remove>) =>
  useInvalidatingMutation(remove, domainQueries.all, config);
export const useSetSendingDefaults = (config?: MutationConfigFor<typeof setDefaults>) =>
  useInvalidatingMutation(setDefaults, domainQueries.all, config);

export const STATUS_TEXT: Record<DomainStatus, string> = {
  pending: 'Waiting for the DNS records',
  verified: 'Verified: mail from it is DKIM-signed',
  failed: 'Not found within 72 hours',
  verification_lost: 'DKIM record missing: sending stopped',
};
