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
