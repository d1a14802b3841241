import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { ErrorMessage } from '../../components/ui/ErrorMessage';
import { Field } from '../../components/ui/Field';
import { Loading, PageHeader, Panel } from '../../components/ui/Page';
import { formatNumber } from '../../lib/format';
import { TemplatePicker } from '../templates/TemplatePicker';
import { type AnalyticsQuery, analyticsApi, SERIES, type Series } from './api';

const COLORS: Record<Series, string> = {
  queued: '#94a3b8',
  sent: '#3b82f6',
  delivered: '#10b981',
  opened: '#8b5cf6',
  clicked: '#ec4899',
  bounced: '#f59e0b',
  complained: '#ef4444',
  failed: '#7f1d1d',
};

const RANGES = {
  '24h': { label: 'Last 24 hours', hours: 24, group: 'hour' },
  '7d': { label: 'Last 7 days', hours: 24 * 7, group: 'day' },
  '30d': { label: 'Last 30 days', hours: 24 * 30, group: 'day' },
} as const;
type Range = keyof typeof RANGES;

// No `to`: the API reads up to now, so a refetch keeps up as time moves into new buckets.
function windowFor(range: Range, groupBy: 'day' | 'hour', templateId: string): AnalyticsQuery {
  const from = new Date(Date.now() - RANGES[range].hours * 3600_000);
  // Whole UTC buckets: the first one starts at the boundary at or before `from`.
  if (groupBy === 'day') from.setUTCHours(0, 0, 0, 0);
  else from.setUTCMinutes(0, 0, 0);
  return {
    from: from.toISOString(),
    group_by: groupBy,
    ...(templateId ? { template_id: templateId } : {}),
  };
}

const label = (iso: string, groupBy: 'day' | 'hour') =>
  groupBy === 'day' ? iso.slice(5, 10) : `${iso.slice(5, 10)} ${iso.slice(11, 13)}h`;

export function AnalyticsPage() {
  const [range, setRange] = useState<Range>('7d');
  const [groupBy, setGroupBy] = useState<'day' | 'hour'>('day');
  const [templateId, setTemplateId] = useState('');
  const [query, setQuery] = useState<AnalyticsQuery>(() => windowFor('7d', 'day', ''));
  const data = useQuery({
    queryKey: ['analytics', query],
    queryFn: () => analyticsApi.get(query),
    placeholderData: keepPreviousData,
    // The rollups follow events within seconds; a dashboard left open keeps up.
    refetchInterval: 10_000,
  });

  const apply = (next: { range?: Range; groupBy?: 'day' | 'hour'; templateId?: string }) => {
    const r = next.range ?? range;
    const g = next.groupBy ?? (next.range ? RANGES[next.range].group : groupBy);
    const t = next.templateId ?? templateId;
    setRange(r);
    setGroupBy(g);
    setTemplateId(t);
    setQuery(windowFor(r, g, t));
  };

  const rows = (data.data?.buckets ?? []).map((b) => ({ ...b, label: label(b.start, query.group_by) }));
  const totals = data.data?.totals ?? {};

  return (
    <>
      <PageHeader title="Analytics">
        <button type="button" onClick={() => apply({})}>
          Refresh
        </button>
      </PageHeader>
      <Panel>
        <div className="inline-form">
          <Field label="Range">
            {(id) => (
              <select id={id} value={range} onChange={(e) => apply({ range: e.target.value as Range })}>
                {Object.entries(RANGES).map(([k, v]) => (
                  <option key={k} value={k}>
                    {v.label}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Group by">
            {(id) => (
              <select
                id={id}
                value={groupBy}
                onChange={(e) => apply({ groupBy: e.target.value as 'day' | 'hour' })}
              >
                <option value="day">Day (UTC)</option>
                <option value="hour">Hour (UTC)</option>
              </select>
            )}
          </Field>
          <TemplatePicker
            value={templateId}
            allowAll="All templates"
            onChange={(v) => apply({ templateId: v })}
          />
        </div>
      </Panel>
      <ErrorMessage error={data.error} title="Analytics could not be loaded" />
      {data.isPending && <Loading what="Loading analytics" />}
      {data.data && (
        <>
          <Panel title="Totals">
            <dl className="totals" aria-label="Totals">
              {SERIES.map((s) => (
                <div key={s} className="total">
                  <dt>
                    <span className="swatch" style={{ background: COLORS[s] }} />
                    {s}
                  </dt>
                  <dd data-testid={`total-${s}`}>{formatNumber(totals[s] as number | undefined)}</dd>
                </div>
              ))}
            </dl>
          </Panel>
          <Panel title={`Emails per ${query.group_by}, by status`}>
            <figure className="chart" aria-label={`Emails per ${query.group_by}, stacked by status`}>
              <ResponsiveContainer width="100%" height={320}>
                <BarChart data={rows} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
                  <CartesianGrid strokeDasharray="3 3" vertical={false} />
                  <XAxis dataKey="label" tick={{ fontSize: 12 }} />
                  <YAxis allowDecimals={false} tick={{ fontSize: 12 }} />
                  <Tooltip />
                  <Legend itemSorter={null} />
                  {SERIES.map((s) => (
                    <Bar key={s} dataKey={s} stackId="status" fill={COLORS[s]} isAnimationActive={false} />
                  ))}
                </BarChart>
              </ResponsiveContainer>
            </figure>
          </Panel>
        </>
      )}
    </>
  );
}
