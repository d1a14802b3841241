import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './openapi.generated.js';

/**
 * The typed client of Mailsystem's HTTP API: openapi-fetch over the types generated from the
 * OpenAPI document (openapi.generated.ts). Every path, parameter, body and answer is checked by
 * the compiler. It runs wherever `fetch` does (Node.js ≥ 20, browsers) and imports nothing else of
 * Mailsystem, so the console and the command line use it exactly as an application would.
 *
 *   const ms = createMailsystemClient({ baseUrl: 'https://mail.example.com', token: apiKey });
 *   const { email_id } = await unwrap(ms.POST('/send', { body: { recipient, template_id } }));
 */
export type { paths };
export type MailsystemClient = Client<paths>;

export interface MailsystemClientOptions {
  /** Where the API answers, e.g. `https://mail.example.com`; '' is the page's own origin. */
  baseUrl: string;
  /** A tenant API key (`ms_…`) or the admin token; a function is asked before every request. */
  token?: string | null | (() => string | null | undefined);
  /** Another fetch (tests, proxies). */
  fetch?: (input: Request) => Promise<Response>;
  /** Headers sent with every request (a User-Agent, say). */
  headers?: Record<string, string>;
}

export function createMailsystemClient(opts: MailsystemClientOptions): MailsystemClient {
  const client = createClient<paths>({
    baseUrl: opts.baseUrl.replace(/\/+$/, ''),
    headers: { accept: 'application/json', ...opts.headers },
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
  client.use({
    onRequest({ request }) {
      const token = typeof opts.token === 'function' ? opts.token() : opts.token;
      // A header given with the call (checking a token before keeping it) wins.
      if (token && !request.headers.has('authorization')) {
        request.headers.set('authorization', `Bearer ${token}`);
      }
      return request;
    },
  });
  return client;
}

/** The API's error body (`{"error": {"code", "message", "details"}}`), or a network failure (status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

type CallResult<T> = { data?: T; error?: unknown; response: Response };

/**
 * The answer of a call, or an ApiError: the API's own code, message and details for a 4xx or 5xx,
 * `network_error` (status 0) when the API could not be reached.
 */
export async function unwrap<T>(call: Promise<CallResult<T>>): Promise<T> {
  let result: CallResult<T>;
  try {
    result = await call;
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
    throw new ApiError(0, 'network_error', `The API could not be reached (${why}).`);
  }
  if (!result.response.ok) throw toApiError(result.response.status, result.error);
  return result.data as T;
}

function toApiError(status: number, body: unknown): ApiError {
  const e = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  if (e && typeof e.code === 'string' && typeof e.message === 'string') {
    return new ApiError(status, e.code, e.message, e.details);
  }
  return new ApiError(status, `http_${status}`, `The API answered ${status} without an error body.`);
}

/** One line for a person: the message, then what the details name (fields, missing variables). */
export function describeApiError(e: ApiError): string {
  const parts: string[] = [];
  const d = e.details as
    | { missing?: unknown; fields?: unknown }
    | Array<{ field?: unknown; message?: unknown }>
    | undefined;
  if (Array.isArray(d)) {
    for (const f of d) if (f && typeof f.field === 'string') parts.push(`${f.field}: ${String(f.message)}`);
  } else if (d && Array.isArray(d.missing)) {
    parts.push(`missing: ${d.missing.map(String).join(', ')}`);
  }
  return parts.length > 0 ? `${e.message} (${parts.join('; ')})` : e.message;
}

/**
 * A variable as a person types it on a form or a command line: text as it is, except a value
 * written as JSON (a list, an object), which fills `{% for %}` loops and nested fields.
 */
export function variableValue(raw: string): unknown {
  const t = raw.trim();
  if (t.startsWith('[') || t.startsWith('{')) {
    try {
      return JSON.parse(t);
    } catch {
      return raw;
    }
  }
  return raw;
}

// ---- Named shapes, for code that passes answers around --------------------------------------------

type Json<R> = R extends { content: { 'application/json': infer B } } ? B : undefined;
type Success<R> = R extends { 200: infer X }
  ? Json<X>
  : R extends { 201: infer X }
    ? Json<X>
    : R extends { 202: infer X }
      ? Json<X>
      : undefined;
type Operation<P extends keyof paths, M extends keyof paths[P]> = paths[P][M];
/** What a call answers on success. */
export type ResponseOf<P extends keyof paths, M extends keyof paths[P]> =
  Operation<P, M> extends { responses: infer R } ? Success<R> : never;
/** The JSON body a call takes. */
export type BodyOf<P extends keyof paths, M extends keyof paths[P]> =
  Operation<P, M> extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;
/** The query parameters a call takes. */
export type QueryOf<P extends keyof paths, M extends keyof paths[P]> =
  Operation<P, M> extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;

export type Page<T> = { items: T[]; next_cursor: string | null };
export type Tenant = ResponseOf<'/admin/tenants/{id}', 'get'>;
export type ApiKey = ResponseOf<'/admin/tenants/{id}/api-keys', 'get'>['items'][number];
export type CreatedApiKey = ResponseOf<'/admin/tenants/{id}/api-keys', 'post'>;
export type Me = ResponseOf<'/me', 'get'>;
export type Template = ResponseOf<'/templates/{id}', 'get'>;
export type TemplateVersion = ResponseOf<'/templates/{id}/versions', 'get'>['items'][number];
export type RenderedPreview = ResponseOf<'/templates/{id}/preview', 'post'>;
export type DraftPreview = ResponseOf<'/templates/preview', 'post'>;
export type SendRequest = BodyOf<'/send', 'post'>;
export type SendAccepted = ResponseOf<'/send', 'post'>;
export type BulkRequest = BodyOf<'/send/bulk', 'post'>;
export type BulkRecipient = BulkRequest['recipients'][number];
export type BulkAccepted = ResponseOf<'/send/bulk', 'post'>;
export type BulkJob = ResponseOf<'/bulk/{id}', 'get'>;
export type Email = ResponseOf<'/emails', 'get'>['items'][number];
export type EmailWithEvents = ResponseOf<'/emails/{id}', 'get'>;
export type EmailEvent = EmailWithEvents['events'][number];
export type EmailFilters = Omit<QueryOf<'/emails', 'get'>, 'cursor' | 'limit' | 'tenant_id'>;
export type DeadLetter = ResponseOf<'/dead-letters', 'get'>['items'][number];
export type Readiness = ResponseOf<'/health/ready', 'get'>;
export type ProviderHealth = NonNullable<Readiness['providers']>[string];
export type Suppression = ResponseOf<'/suppressions', 'get'>['items'][number];
export type SuppressionReason = NonNullable<BodyOf<'/suppressions', 'post'>['reason']>;
export type Analytics = ResponseOf<'/analytics', 'get'>;
export type Domain = ResponseOf<'/domains/{id}', 'get'>;
export type DnsRecord = Domain['records'][number];
export type DomainStatus = Domain['status'];
export type SendingDefaults = ResponseOf<'/sending-defaults', 'get'>;
export type AnalyticsQuery = Omit<QueryOf<'/analytics', 'get'>, 'tenant_id'>;
export type InboxSummary = ResponseOf<'/inbox', 'get'>['items'][number];
export type InboxMessage = ResponseOf<'/inbox/{id}', 'get'>;
export type EmailAttachment = EmailWithEvents['attachments'][number];
export type WebhookEndpoint = ResponseOf<'/webhook-endpoints/{id}', 'get'>;
export type WebhookEndpointWithSecret = ResponseOf<'/webhook-endpoints', 'post'>;
export type WebhookEndpointInput = BodyOf<'/webhook-endpoints', 'post'>;
export type WebhookDelivery = ResponseOf<'/webhook-endpoints/{id}/deliveries', 'get'>['items'][number];
