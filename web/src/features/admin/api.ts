import { api, type Page } from '../../lib/api';

export interface Tenant {
  id: string;
  name: string;
  status: 'active' | 'suspended';
  rate_limit_per_second: number | null;
  rate_limit_burst: number | null;
  created_at: string;
  updated_at: string;
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

const t = (id: string) => `/admin/tenants/${encodeURIComponent(id)}`;

export const adminApi = {
  tenants: (cursor?: string) => api<Page<Tenant>>('/admin/tenants', { query: { cursor, limit: 50 } }),
  tenant: (id: string) => api<Tenant>(t(id)),
  createTenant: (body: { id?: string; name: string }) =>
    api<Tenant>('/admin/tenants', { method: 'POST', body }),
  setStatus: (id: string, status: Tenant['status']) =>
    api<Tenant>(t(id), { method: 'PATCH', body: { status } }),
  keys: (id: string) => api<Page<ApiKey>>(`${t(id)}/api-keys`),
  createKey: (id: string, name: string) =>
    api<ApiKey & { key: string }>(`${t(id)}/api-keys`, { method: 'POST', body: { name } }),
  revokeKey: (id: string, keyId: string) =>
    api<ApiKey>(`${t(id)}/api-keys/${encodeURIComponent(keyId)}`, { method: 'DELETE' }),
};
