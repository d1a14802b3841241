import { api } from '../../lib/api';

export const SERIES = [
  'queued',
  'sent',
  'delivered',
  'opened',
  'clicked',
  'bounced',
  'complained',
  'failed',
] as const;
export type Series = (typeof SERIES)[number];
/** What happened to accepted emails; each its own count of events, never a share of `queued`. */
export const OUTCOMES = SERIES.filter((s) => s !== 'queued');

export type Bucket = { start: string } & Record<Series, number>;

export interface Analytics {
  buckets: Bucket[];
  totals: Partial<Record<Series, number>> & Record<string, unknown>;
}

export interface AnalyticsQuery {
  from: string;
  to?: string;
  group_by: 'day' | 'hour';
  template_id?: string;
}

export const analyticsApi = {
  get: (q: AnalyticsQuery) => api<Analytics>('/analytics', { query: { ...q } }),
};
