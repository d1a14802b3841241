import { Type } from 'typebox';
import { TenantIdQuery, UuidString } from './common.js';

const Count = Type.Integer({ minimum: 0 });
const Counts = {
  queued: Type.Integer({ minimum: 0, description: 'Emails accepted (scheduled ones at acceptance)' }),
  sent: Count,
  delivered: Count,
  opened: Count,
  clicked: Count,
  bounced: Count,
  complained: Count,
  failed: Count,
};

const When = (what: string) =>
  Type.Optional(
    Type.String({
      maxLength: 40,
      description: `${what}: an RFC 3339 date-time or a YYYY-MM-DD date (UTC); rounded out to whole buckets`,
    }),
  );

export const AnalyticsQuery = Type.Object(
  {
    ...TenantIdQuery.properties,
    from: When('Start (default: 30 days or 24 hours before `to`)'),
    to: When('End, inclusive (default: now; a date means the end of that day)'),
    group_by: Type.Union([Type.Literal('day'), Type.Literal('hour')], {
      default: 'day',
      description: 'Bucket size: at most 400 days by day, 31 days (744 hours) by hour',
    }),
    template_id: Type.Optional(UuidString({ description: 'Only this template' })),
    include_test: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'Count mail sent with test-mode keys too (left out by default)',
      }),
    ),
  },
  { additionalProperties: false },
);

export const AnalyticsReport = Type.Object({
  group_by: Type.Union([Type.Literal('day'), Type.Literal('hour')]),
  template_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  from: Type.String({ format: 'date-time', description: 'Start of the first bucket' }),
  to: Type.String({ format: 'date-time', description: 'End of the last bucket (exclusive)' }),
  buckets: Type.Array(
    Type.Object({ start: Type.String({ format: 'date-time', description: 'UTC bucket start' }), ...Counts }),
    { description: 'Every bucket of the range in order, zero-filled' },
  ),
  totals: Type.Object(Counts),
});
