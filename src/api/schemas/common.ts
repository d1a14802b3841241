import { type TSchema, Type } from 'typebox';

export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      details: Type.Optional(Type.Unknown()),
    }),
  },
  { $id: 'ErrorResponse', description: 'Every error has this shape' },
);

export const TenantIdQuery = Type.Object({ tenant_id: Type.Optional(Type.String({ maxLength: 64 })) });

export const PageQuery = {
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
};

export const IdParams = Type.Object({ id: Type.String({ maxLength: 200 }) });

export const Page = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), next_cursor: Type.Union([Type.String(), Type.Null()]) });

/** JSON object whose values are anything JSON (variables, metadata). */
export const JsonObject = (opts: { maxProperties?: number; description?: string } = {}) =>
  Type.Record(Type.String({ maxLength: 200 }), Type.Unknown(), {
    maxProperties: opts.maxProperties ?? 1000,
    ...opts,
  });

/**
 * A UUID as PostgreSQL reads it. Not `format: 'uuid'`: that also admits a `urn:uuid:` prefix,
 * which would reach the database and fail there.
 */
export const UuidString = (opts: { description?: string } = {}) =>
  Type.String({
    pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
    ...opts,
  });

/** A sender-like address: `"Name <local@domain>"` or `{email, name}`. */
export const MailboxInput = (description: string) =>
  Type.Union(
    [
      Type.String({ minLength: 3, maxLength: 460, description: 'e.g. "Billing <billing@example.com>"' }),
      Type.Object(
        {
          email: Type.String({ minLength: 3, maxLength: 254 }),
          name: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
        },
        { additionalProperties: false },
      ),
    ],
    { description },
  );

/** A mailbox as the API answers it. */
export const Mailbox = Type.Object({
  email: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
});
export const NullableMailbox = Type.Union([Mailbox, Type.Null()]);
