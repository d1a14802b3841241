import { getSession } from './session';

/** The API's error body: `{"error": {"code", "message", "details"}}`. */
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

// Empty means "the origin that served the console", which is how the API serves it.
const API_BASE = (import.meta.env.VITE_API_BASE ?? '').replace(/\/+$/, '');

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  query?: Query;
  /** Overrides the signed-in token (sign-in checks a token before keeping it). */
  token?: string;
  headers?: Record<string, string>;
}

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const token = opts.token ?? getSession()?.token;
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  let res: Response;
  try {
    res = await fetch(`${API_BASE}${withQuery(path, opts.query)}`, {
      method: opts.method ?? 'GET',
      headers,
      ...(body === undefined ? {} : { body }),
    });
  } catch {
    throw new ApiError(0, 'network_error', 'The API could not be reached. Is the server running?');
  }
  const text = await res.text();
  let parsed: unknown = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (!res.ok) throw toApiError(res.status, parsed);
  return parsed as T;
}

function toApiError(status: number, body: unknown): ApiError {
  const e = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  if (e && typeof e.code === 'string' && typeof e.message === 'string') {
    return new ApiError(status, e.code, e.message, e.details);
  }
  return new ApiError(status, `http_${status}`, `The API answered ${status} without an error body.`);
}

/** Every list endpoint answers this. */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}
