import { Type } from 'typebox';

const Time = Type.String({ format: 'date-time' });
const Count = Type.Integer({ minimum: 0 });
const JOB_STATUSES = ['queued', 'processing', 'completed', 'cancelled'] as const;
const JobStatus = Type.Unsafe<(typeof JOB_STATUSES)[number]>({ type: 'string', enum: [...JOB_STATUSES] });

export const BulkAccepted = Type.Object({
  bulk_job_id: Type.String({ format: 'uuid' }),
  status: JobStatus,
  total: Type.Integer({ description: 'Recipients in the request' }),
  accepted: Type.Integer({ description: 'Recipients that become emails (valid, not duplicated)' }),
  invalid: Count,
  duplicates: Count,
  idempotency_reused: Type.Boolean(),
});

export const BulkJob = Type.Object({
  id: Type.String({ format: 'uuid' }),
  status: JobStatus,
  template_id: Type.String({ format: 'uuid' }),
  template_version: Type.Integer(),
  total: Count,
  accepted: Count,
  queued: Type.Integer({ description: 'Not sent yet (including recipients not turned into emails yet)' }),
  sent: Count,
  delivered: Count,
  failed: Type.Integer({ description: 'Failed, bounced or complained' }),
  skipped: Type.Integer({ description: 'Suppressed recipients' }),
  cancelled: Count,
  invalid: Count,
  duplicates: Count,
  invalid_recipients: Type.Array(Type.Unknown(), { description: 'Each invalid recipient and why' }),
  metadata: Type.Record(Type.String(), Type.Unknown()),
  send_at: Type.Union([Time, Type.Null()]),
  created_at: Time,
  completed_at: Type.Union([Time, Type.Null()]),
});

export const Unsubscribed = Type.Object({
  unsubscribed: Type.Literal(true),
  email: Type.String(),
  already: Type.Boolean({ description: 'The address was suppressed already' }),
});

/** An HTML page (for a person following the link) or JSON (for a mail client). */
export const htmlOr = <T extends object>(json: T, description: string) => ({
  description,
  content: {
    'text/html': { schema: Type.String() },
    'application/json': { schema: json },
  },
});

/** An HTML page only. */
export const htmlPage = (description: string) => ({
  description,
  content: { 'text/html': { schema: Type.String() } },
});
