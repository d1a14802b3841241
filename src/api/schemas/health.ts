import { Type } from 'typebox';

export const Live = Type.Object({ status: Type.String({ enum: ['ok'] }) });

export const Ready = Type.Object({
  status: Type.String({ enum: ['ok'] }),
  checks: Type.Record(Type.String(), Type.String({ enum: ['up', 'down'] }), {
    description: 'postgres, and redis (or dispatcher when running in-process)',
  }),
  providers: Type.Optional(
    Type.Record(
      Type.String(),
      Type.Object({
        state: Type.String({ enum: ['closed', 'open', 'half_open'] }),
        open_since: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
          description: 'When the current outage began (the breaker first opened); null when closed',
        }),
        next_probe_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
        opens: Type.Integer({ description: 'Times the breaker opened' }),
        waiting: Type.Optional(
          Type.Integer({
            description: 'Emails queued for this provider (only while its breaker is not closed)',
          }),
        ),
      }),
      {
        description:
          "Each provider's circuit breaker. An open breaker does not make the service unready: mail is still accepted and waits.",
      },
    ),
  ),
});
