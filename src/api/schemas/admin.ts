import { Type } from 'typebox';

const Time = Type.String({ format: 'date-time' });
const NullableTime = Type.Union([Time, Type.Null()]);

export const Tenant = Type.Object({
  id: Type.String(),
  name: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('suspended')]),
  rate_limit_per_second: Type.Union([Type.Number(), Type.Null()], {
    description: 'Requests per second for this tenant; null = RATE_LIMIT_PER_SECOND',
  }),
  rate_limit_burst: Type.Union([Type.Integer(), Type.Null()], {
    description: 'Token bucket size for this tenant; null = RATE_LIMIT_BURST',
  }),
  created_at: Time,
  updated_at: Time,
  held_emails: Type.Optional(
    Type.Integer({
      description:
        'GET of one suspended tenant: its open emails (queued or scheduled) held until it is active again',
    }),
  ),
});

export const ApiKey = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  prefix: Type.String({ description: 'The first characters of the key, to recognise it' }),
  created_at: Time,
  last_used_at: NullableTime,
  revoked_at: NullableTime,
});

export const ApiKeyCreated = Type.Object({
  ...ApiKey.properties,
  key: Type.String({ description: 'The whole key; shown only in this response' }),
  tenant_id: Type.String(),
});
