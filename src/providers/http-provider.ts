import addressparser from 'nodemailer/lib/addressparser/index.js';
import type { SendOutcome } from './email-provider.js';

/** One answer from a provider's HTTP API, read once. */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  /** Parsed JSON when the body is JSON, else the text (possibly ''). */
  body: unknown;
}

/**
 * POSTs to a provider and reads its answer. A request that never got an answer (refused, reset,
 * DNS, TLS, timeout) is the provider's trouble, not the message's: it comes back as an
 * `unavailable` outcome instead of an answer. Never throws.
 */
export async function post(
  url: string,
  init: { headers: Record<string, string>; body: string | FormData },
  timeoutMs: number,
): Promise<HttpAnswer | SendOutcome> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: init.headers,
      body: init.body,
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const timedOut = (err as Error).name === 'TimeoutError';
    return {
      kind: 'unavailable',
      error: timedOut
        ? `no answer within ${timeoutMs} ms`
        : `request failed: ${cause?.message ?? (err as Error).message}`,
      ...(timedOut ? { code: 'ETIMEDOUT' } : cause?.code ? { code: cause.code } : {}),
    };
  }
  const text = await res.text().catch(() => '');
  let body: unknown = text;
  if (text && /json/i.test(res.headers.get('content-type') ?? '')) {
    try {
      body = JSON.parse(text);
    } catch {
      // A provider answering malformed JSON is read as text.
    }
  }
  return { status: res.status, headers: res.headers, body };
}

export const isAnswer = (r: HttpAnswer | SendOutcome): r is HttpAnswer => 'status' in r;

/** `Retry-After` in seconds or as an HTTP date, in milliseconds; undefined when absent or bad. */
export function retryAfterMs(headers: Headers): number | undefined {
  const v = headers.get('retry-after');
  if (!v) return undefined;
  if (/^\d+(\.\d+)?$/.test(v.trim())) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * The classes every HTTP provider shares, for answers its own rules did not decide:
 * 408 → transient; 429, 5xx, 401/403 (the key or the account) → unavailable; other 4xx → permanent.
 */
export function defaultHttpOutcome(answer: HttpAnswer, detail: string): SendOutcome {
  const { status } = answer;
  const error = `HTTP ${status}: ${detail}`.slice(0, 1000);
  const code = String(status);
  if (status === 408) return { kind: 'transient', error, code };
  if (status === 429 || status >= 500 || status === 401 || status === 403) {
    const after = retryAfterMs(answer.headers);
    return { kind: 'unavailable', error, code, ...(after === undefined ? {} : { retryAfterMs: after }) };
  }
  return { kind: 'permanent', error, code };
}

/** A short text of an error body for the email's last_error. */
export function describeBody(body: unknown): string {
  if (typeof body === 'string') return body.slice(0, 500) || '(empty body)';
  return JSON.stringify(body).slice(0, 500);
}

/** Our email id, from the Message-ID we set (`<uuid@domain>`), for providers' tags and metadata. */
export function emailIdOf(messageId: string): string | null {
  const m = /^<([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})@/i.exec(messageId);
  return m?.[1]?.toLowerCase() ?? null;
}

/** `Name <address>` for providers that take one string per mailbox. */
export function mailbox(email: string, name?: string | null): string {
  if (!name) return email;
  return `"${name.replace(/["\\]/g, '\\$&')}" <${email}>`;
}

/** `Name <address>` parsed into its parts (the From we build is always one mailbox). */
export function parseMailbox(value: string): { email: string; name?: string } {
  const [first] = addressparser(value, { flatten: true });
  if (!first?.address) return { email: value };
  return first.name ? { email: first.address, name: first.name } : { email: first.address };
}
