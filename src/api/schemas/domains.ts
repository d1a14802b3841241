import { Type } from 'typebox';
import { NullableMailbox } from './common.js';

const Time = Type.String({ format: 'date-time' });
const NullableTime = Type.Union([Time, Type.Null()]);
const NullableString = Type.Union([Type.String(), Type.Null()]);

export const DomainStatus = Type.Unsafe<string>({
  type: 'string',
  enum: ['pending', 'verified', 'failed', 'verification_lost'],
  description:
    'pending: records not found yet (checked with backoff for 72 h); verified: mail may be sent from it, ' +
    'DKIM-signed; failed: not found within 72 h (POST …/verify checks again); verification_lost: the ' +
    'DKIM record disappeared or changed, sending from it is refused until it is back',
});

export const DnsRecord = Type.Object({
  purpose: Type.Unsafe<string>({
    type: 'string',
    enum: ['dkim', 'spf', 'dmarc', 'return_path'],
    description: 'dkim: the signing key (required); spf, dmarc, return_path: recommended for delivery',
  }),
  type: Type.Literal('TXT'),
  name: Type.String({ description: 'The full name to publish the record at' }),
  value: Type.String({
    description: 'The value to publish (DNS providers split long TXT values by themselves)',
  }),
  required: Type.Boolean({ description: 'Whether the domain can send without it' }),
  selector: NullableString,
  key_state: Type.Union([Type.Literal('active'), Type.Literal('pending'), Type.Null()], {
    description: 'DKIM records: active signs now; pending waits for its record (a rotation)',
  }),
  found: Type.Union([Type.Array(Type.String()), Type.Null()], {
    description: 'What DNS answered at the last check ([] nothing; null not checked or the look-up failed)',
  }),
  verified: Type.Boolean(),
  error: NullableString,
});

export const Domain = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  status: DomainStatus,
  status_reason: NullableString,
  can_send: Type.Boolean({ description: 'Mail may be sent from this domain and its subdomains now' }),
  dkim_selector: NullableString,
  pending_dkim_selector: NullableString,
  return_path: NullableString,
  return_path_verified: Type.Boolean(),
  records: Type.Array(DnsRecord),
  checked_at: NullableTime,
  next_check_at: NullableTime,
  verified_at: NullableTime,
  created_at: Time,
});

export const SendingDefaults = Type.Object({
  from: { ...NullableMailbox, description: 'Sender of emails that name none, nor their template' },
  reply_to: { ...NullableMailbox, description: 'Reply-To of emails that name none, nor their template' },
});
