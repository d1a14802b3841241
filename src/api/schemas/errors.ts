import { type TSchema, Type } from 'typebox';

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed JSON or a schema violation; details name each field',
  401: 'Missing or unknown credentials',
  403: 'Suspended tenant, tenant_id of another tenant, or a disabled admin API',
  404: "Unknown id (also for another tenant's id)",
  409: 'The resource is in a state that does not allow this',
  413: 'The request body is too large',
  415: 'The request body must be application/json',
  422: 'The request is well-formed but cannot be carried out',
  429: 'Rate limited; Retry-After says when to try again',
  500: 'Internal error (no details are given)',
  503: 'A dependency is down',
};

/** `{"error": {"code", "message", "details"}}` described for one status. */
export const errorSchema = (status: number, description = ERROR_DESCRIPTIONS[status] ?? 'Error') =>
  Type.Object(
    {
      error: Type.Object({
        code: Type.String({ description: 'Stable snake_case code' }),
        message: Type.String(),
        details: Type.Optional(Type.Unknown()),
      }),
    },
    { description },
  );

/** Error responses for the given statuses, to spread into a route's `response`. */
export const errors = (...statuses: number[]): Record<number, TSchema> =>
  Object.fromEntries(statuses.map((s) => [s, errorSchema(s)]));
