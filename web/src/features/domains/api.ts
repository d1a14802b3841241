import { queryOptions } from '@tanstack/react-query';
import { api, type Page } from '../../lib/api';

export type DomainStatus = 'pending' | 'verified' | 'failed' | 'verification_lost';

export interface DnsRecord {
  purpose: 'dkim' | 'spf' | 'dmarc' | 'return_path';
  type: 'TXT';
  name: string;
  value: string;
  required: boolean;
  selector: string | null;
  key_state: 'active' | 'pending' | null;
  found: string[] | null;
  verified: boolean;
  error: string | null;
}

export interface Domain {
  id: string;
  name: string;
  status: DomainStatus;
  status_reason: string | null;
  can_send: boolean;
  dkim_selector: string | null;
  pending_dkim_selector: string | null;
  return_path: string | null;
  return_path_verified: boolean;
  records: DnsRecord[];
  checked_at: string | null;
  next_check_at: string | null;
  verified_at: string | null;
  created_at: string;
}

export interface Mailbox {
  email: string;
  name: string | null;
}

export interface SendingDefaults {
  from: Mailbox | null;
  reply_to: Mailbox | null;
}

export const domainsApi = {
  list: (cursor?: string) => api<Page<Domain>>('/domains', { query: { cursor, limit: 50 } }),
  get: (id: string) => api<Domain>(`/domains/${encodeURIComponent(id)}`),
  create: (body: { name: string; return_path?: string }) => api<Domain>('/domains', { method: 'POST', body }),
  verify: (id: string) => api<Domain>(`/domains/${encodeURIComponent(id)}/verify`, { method: 'POST' }),
  rotateDkim: (id: string) =>
    api<Domain>(`/domains/${encodeURIComponent(id)}/rotate-dkim`, { method: 'POST' }),
  remove: (id: string) => api<null>(`/domains/${encodeURIComponent(id)}`, { method: 'DELETE' }),
  defaults: () => api<SendingDefaults>('/sending-defaults'),
  setDefaults: (body: { from: string | null; reply_to: string | null }) =>
    api<SendingDefaults>('/sending-defaults', { method: 'PUT', body }),
};

/** Query options, one factory per read; keys start with 'domains' so one invalidation refreshes all. */
export const domainQueries = {
  all: ['domains'] as const,
  list: (cursor: string | undefined) =>
    queryOptions({ queryKey: ['domains', 'list', cursor ?? null], queryFn: () => domainsApi.list(cursor) }),
  /**
   * One domain as DNS answers now. Until it can send, it is looked at again every few seconds,
   * so the page shows a record turning green soon after it is published.
   */
  one: (id: string) =>
    queryOptions({
      queryKey: ['domains', 'one', id],
      queryFn: () => domainsApi.get(id),
      refetchInterval: (q) =>
        q.state.data && q.state.data.status === 'verified' && !q.state.data.pending_dkim_selector
          ? false
          : 10_000,
    }),
  defaults: () => queryOptions({ queryKey: ['domains', 'defaults'], queryFn: domainsApi.defaults }),
};

export const STATUS_TEXT: Record<DomainStatus, string> = {
  pending: 'Waiting for the DNS records',
  verified: 'Verified: mail from it is DKIM-signed',
  failed: 'Not found within 72 hours',
  verification_lost: 'DKIM record missing: sending stopped',
};
