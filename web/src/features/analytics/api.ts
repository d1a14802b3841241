import { keepPreviousData, queryOptions } from '@tanstack/react-query';
import { type Analytics, type AnalyticsQuery, client, unwrap } from '../../lib/api';

export type { AnalyticsQuery };
export type Series = Exclude<keyof Analytics['buckets'][number], 'start'>;

/** Every counter the API answers, in the order they are shown, with its colour (the type keeps it complete). */
export const SERIES_COLORS: Record<Series, string> = {
  queued: '#b4bfd0',
  sent: '#3b82f6',
  delivered: '#10b981',
  opened: '#8b5cf6',
  clicked: '#ec4899',
  bounced: '#f59e0b',
  complained: '#ef4444',
  failed: '#7f1d1d',
};
export const SERIES = Object.keys(SERIES_COLORS) as Series[];
/** What happened to accepted emails; each its own count of events, never a share of `queued`. */
export const OUTCOMES = SERIES.filter((s) => s !== 'queued');

export const analyticsQueries = {
  all: ['analytics'] as const,
  counts: (q: AnalyticsQuery) =>
    queryOptions({
      queryKey: [...analyticsQueries.all, q],
      queryFn: () => unwrap(client.GET('/analytics', { params: { query: q } })),
      placeholderData: keepPreviousData,
      // The rollups follow events within seconds; a dashboard left open keeps up.
      refetchInterval: 10_000,
    }),
};
