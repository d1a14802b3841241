import { Type } from 'typebox';

const Time = Type.String({ format: 'date-time' });

export const DeadLetter = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email_id: Type.String({ format: 'uuid' }),
  reason: Type.Union([
    Type.Literal('permanent'),
    Type.Literal('retries_exhausted'),
    Type.Literal('provider_unavailable'),
  ]),
  last_error: Type.Union([Type.String(), Type.Null()]),
  attempts: Type.Integer(),
  recipient: Type.String(),
  template_id: Type.String({ format: 'uuid' }),
  bulk_job_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  email_status: Type.String(),
  created_at: Time,
  retried_at: Type.Union([Time, Type.Null()]),
});

export const DeadLetterRetried = Type.Object({
  dead_letter_id: Type.String({ format: 'uuid' }),
  email_id: Type.String({ format: 'uuid' }),
  status: Type.Literal('queued'),
});
