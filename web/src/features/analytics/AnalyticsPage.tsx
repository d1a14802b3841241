import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import {
  Bar,
  CartesianGrid,
  ComposedChart,
  Legend,
  Line,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { TemplatePicker } from '../../components/TemplatePicker';
import { ErrorMessage } from '../../components/ui/ErrorMessage';
import { Field } from '../../components/ui/Field';
import { Loading, PageHeader, Panel } from '../../components/ui/Page';
import { formatNumber } from '../../lib/format';
import { type AnalyticsQuery, analyticsQueries, OUTCOMES, SERIES, SERIES_COLORS, type Series } from './api';

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

/** `queued` counts emails taken in (or scheduled); "accepted" says so without suggesting a queue. */
const nameOf = (s: Series) => (s === 'queued' ? 'accepted' : s);

const label = (iso: string, groupBy: 'day' | 'hour') =>
  groupBy === 'day' ? iso.slice(5, 10) : `${iso.slice(5, 10)} ${iso.slice(11, 13)}h`;

export function AnalyticsPage() {
  const [range, setRange] = useState<Range>('7d');
  const [groupBy, setGroupBy] = useState<'day' | 'hour'>('day');
  const [templateId, setTemplateId] = useState('');
  const [query, setQuery] = useState<AnalyticsQuery>(() => windowFor('7d', 'day', ''));
  const data = useQuery(analyticsQueries.counts(query));

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
  const totals: Partial<Record<Series, number>> = data.data?.totals ?? {};
  // A line of zeros adds nothing but clutter on the axis; the totals still show every counter.
  const drawn = OUTCOMES.filter((s) => (totals[s] ?? 0) > 0);
  const unit = query.group_by === 'day' ? 'UTC day' : 'UTC hour';

  return (
    <>
      <PageHeader title="Analytics">
        <button
          type="button"
          onClick={() => {
            apply({});
            // The window is whole buckets, so it is often the same query: ask again all the same.
            void data.refetch();
          }}
        >
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
                    <span className="swatch" style={{ background: SERIES_COLORS[s] }} />
                    {nameOf(s)}
                  </dt>
                  <dd data-testid={`total-${s}`}>{formatNumber(totals[s])}</dd>
                </div>
              ))}
            </dl>
          </Panel>
          <Panel title={`Events per ${query.group_by}`}>
            <figure className="chart" aria-label={`Events per ${query.group_by}`}>
              <ResponsiveContainer width="100%" height={320}>
                <ComposedChart data={rows} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
                  <CartesianGrid strokeDasharray="3 3" vertical={false} />
                  <XAxis dataKey="label" tick={{ fontSize: 12 }} />
                  <YAxis allowDecimals={false} tick={{ fontSize: 12 }} />
                  <Tooltip />
                  {/* Text in the page's colour: the pale bar's colour would be hard to read. */}
                  <Legend
                    itemSorter={null}
                    formatter={(name) => <span className="legend-text">{name}</span>}
                  />
                  <Bar
                    dataKey="queued"
                    name={nameOf('queued')}
                    fill={SERIES_COLORS.queued}
                    maxBarSize={56}
                    isAnimationActive={false}
                  />
                  {drawn.map((s) => (
                    <Line
                      key={s}
                      dataKey={s}
                      name={nameOf(s)}
                      type="linear"
                      stroke={SERIES_COLORS[s]}
                      strokeWidth={2}
                      dot={{ r: 3, fill: SERIES_COLORS[s] }}
                      isAnimationActive={false}
                    />
                  ))}
                </ComposedChart>
              </ResponsiveContainer>
              <figcaption className="hint" data-testid="chart-caption">
                Counts are events per {unit}, not emails: one email accepted and then sent counts once in
                each, so the series are not added up. Accepted is drawn as bars, what happened next as lines
                {drawn.length < OUTCOMES.length && ' (those with no events in the range are left out)'}.
              </figcaption>
            </figure>
          </Panel>
        </>
      )}
    </>
  );
}
