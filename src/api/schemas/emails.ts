import { Type } from 'typebox';
import { EMAIL_STATUSES } from '../../domain/email-status.js';
import { Mailbox } from './common.js';

const Time = Type.String({ format: 'date-time' });
const NullableTime = Type.Union([Time, Type.Null()]);
const NullableString = Type.Union([Type.String(), Type.Null()]);

export const EmailStatus = Type.Unsafe<string>({ type: 'string', enum: [...EMAIL_STATUSES] });

export const Email = Type.Object({
  email_id: Type.String({ format: 'uuid' }),
  status: EmailStatus,
  recipient: Type.Object({ email: Type.String(), name: NullableString }),
  from: Type.Union([Mailbox, Type.Null()], { description: "The sender; null: the installation's SMTP_FROM" }),
  reply_to: Type.Union([Mailbox, Type.Null()]),
  template_id: Type.String({ format: 'uuid' }),
  template_version: Type.Integer(),
  bulk_job_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  subject: NullableString,
  metadata: Type.Record(Type.String(), Type.Unknown()),
  tags: Type.Array(Type.String()),
  attempts: Type.Integer(),
  last_error: NullableString,
  provider: Type.String(),
  provider_message_id: NullableString,
  message_id: Type.String(),
  send_at: NullableTime,
  next_attempt_at: NullableTime,
  sent_at: NullableTime,
  created_at: Time,
  updated_at: Time,
});

export const EmailEvent = Type.Object({
  type: Type.String({ description: 'queued, processing, sent, deferred, delivered, opened, …' }),
  at: Time,
  data: Type.Record(Type.String(), Type.Unknown()),
});

export const FeedEvent = Type.Object({
  id: Type.String({ description: 'Increases in the order events were recorded' }),
  email_id: Type.String({ format: 'uuid' }),
  recipient: Type.String(),
  ...EmailEvent.properties,
});

export const EventFeed = Type.Object({
  items: Type.Array(FeedEvent),
  next_cursor: Type.String({ description: 'Where to continue: the events recorded after these' }),
  has_more: Type.Boolean({ description: 'More events were waiting: ask again at once' }),
});

export const EmailWithEvents = Type.Object({
  ...Email.properties,
  waiting_on: Type.Union([Type.Literal('provider'), Type.Null()], {
    description:
      "'provider': queued, waiting for its provider to come back (its circuit breaker is open or it failed); no attempt is spent meanwhile",
  }),
  events: Type.Array(EmailEvent),
});

export const EmailCancelled = Type.Object({ email_id: Type.String({ format: 'uuid' }), status: EmailStatus });

export const Accepted = Type.Object({
  email_id: Type.String({ format: 'uuid' }),
  status: Type.String({
    enum: [...EMAIL_STATUSES],
    description:
      "queued or scheduled for a new email; a replay (idempotency_reused) answers the email's current status",
  }),
  idempotency_reused: Type.Boolean(),
});
