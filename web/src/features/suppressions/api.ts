import { api, type Page } from '../../lib/api';

export interface Suppression {
  email: string;
  reason: string;
  created_at: string;
}

export const SUPPRESSION_REASONS = ['manual', 'unsubscribe', 'hard_bounce', 'complaint'] as const;

export const suppressionsApi = {
  list: (cursor?: string) => api<Page<Suppression>>('/suppressions', { query: { cursor, limit: 50 } }),
  add: (body: { email: string; reason: string }) =>
    api<Suppression>('/suppressions', { method: 'POST', body }),
  remove: (email: string) => api<unknown>(`/suppressions/${encodeURIComponent(email)}`, { method: 'DELETE' }),
};
