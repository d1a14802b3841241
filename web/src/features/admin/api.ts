import { keepPreviousData, queryOptions } from '@tanstack/react-query';
import { client, type Tenant, unwrap } from '../../lib/api';
import { type MutationConfigFor, useInvalidatingMutation } from '../../lib/query';

/** Tenants and keys (the admin token). Every key starts with `admin`; every change refreshes them. */
export const adminQueries = {
  all: ['admin'] as const,
  tenants: (cursor?: string) =>
    queryOptions({
      queryKey: [...adminQueries.all, 'tenants', cursor ?? null],
      queryFn: () => unwrap(client.GET('/admin/tenants', { params: { query: { cursor, limit: 50 } } })),
      placeholderData: keepPreviousData,
    }),
  tenant: (id: string) =>
    queryOptions({
      queryKey: [...adminQueries.all, 'tenant', id],
      queryFn: () => unwrap(client.GET('/admin/tenants/{id}', { params: { path: { id } } })),
    }),
  keys: (id: string) =>
    queryOptions({
      queryKey: [...adminQueries.all, 'keys', id],
      queryFn: () => unwrap(client.GET('/admin/tenants/{id}/api-keys', { params: { path: { id } } })),
    }),
};

const createTenant = (body: { id?: string; name: string }) => unwrap(client.POST('/admin/tenants', { body }));
const setStatus = (v: { id: string; status: Tenant['status'] }) =>
  unwrap(client.PATCH('/admin/tenants/{id}', { params: { path: { id: v.id } }, body: { status: v.status } }));
const createKey = (v: { tenantId: string; name: string; mode?: 'live' | 'test' }) =>
  unwrap(
    client.POST('/admin/tenants/{id}/api-keys', {
      params: { path: { id: v.tenantId } },
      body: { name: v.name, mode: v.mode ?? 'live' },
    }),
  );
const revokeKey = (v: { tenantId: string; keyId: string }) =>
  unwrap(
    client.DELETE('/admin/tenants/{id}/api-keys/{keyId}', {
      params: { path: { id: v.tenantId, keyId: v.keyId } },
    }),
  );

export const useCreateTenant = (config?: MutationConfigFor<typeof createTenant>) =>
  useInvalidatingMutation(createTenant, adminQueries.all, config);
export const useSetTenantStatus = (config?: MutationConfigFor<typeof setStatus>) =>
  useInvalidatingMutation(setStatus, adminQueries.all, config);
export const useCreateKey = (config?: MutationConfigFor<typeof createKey>) =>
  useInvalidatingMutation(createKey, adminQueries.all, config);
export const useRevokeKey = (config?: MutationConfigFor<typeof revokeKey>) =>
  useInvalidatingMutation(revokeKey, adminQueries.all, config);
