import type { SendOutcome } from '../email-provider.js';

/** The two failure variants of SendOutcome: what a failed SMTP send turns into. */
export type SmtpFailure = Exclude<SendOutcome, { kind: 'sent' }>;

/**
 * Decides whether a failed SMTP send is worth retrying, and whose trouble it is: the message's
 * (`transient`/`permanent`, spending the message's attempts) or the relay's (`unavailable`, which
 * spends no attempt and counts towards the provider's circuit breaker). Pure: it only reads the
 * error nodemailer hands back (`responseCode`, `code`, `command`, `response`, `rejectedErrors`).
 *
 * | what failed                                              | outcome     | code            |
 * |----------------------------------------------------------|-------------|-----------------|
 * | 421 reply (service not available, closing channel)       | unavailable | '421'           |
 * | 454 reply (TLS or relay temporarily unavailable)          | unavailable | '454'           |
 * | 4xx reply outside a transaction (greeting, EHLO, TLS)    | unavailable | '4xx'           |
 * | other 4xx reply (450/451/452 … to this message)           | transient   | '4xx'           |
 * | 5xx reply to MAIL FROM / RCPT TO / DATA (a verdict on    | permanent   | '5xx'           |
 * |   this message or its recipient)                          |             |                 |
 * | 5xx reply to AUTH (EAUTH)                                 | unavailable | '5xx'           |
 * | 5xx reply outside a transaction (greeting, EHLO, TLS)    | unavailable | '5xx'           |
 * | 503 bad sequence of commands                              | transient   | '503'           |
 * | other replies in an error (2xx/3xx where unexpected)      | transient   | the reply code  |
 * | no reply: ECONNECTION, ETIMEDOUT, ESOCKET, EDNS, ETLS,    | unavailable | nodemailer code |
 * |   EAUTH, ENOAUTH, EOAUTH2, ECONFIG, EPROTOCOL,            |             |                 |
 * |   EPROXY, ECONNREFUSED, ECONNRESET, ENOTFOUND, EPIPE …    |             |                 |
 * | no reply: EENVELOPE, EMESSAGE, EMAXRECIPIENTS,           | permanent   | nodemailer code |
 * |   EFILEACCESS, EURLACCESS (refused before sending)        |             |                 |
 * | anything else (unknown errors, non-Error values)          | transient   | code if any     |
 *
 * Why the exceptions to "5xx is permanent": a 5xx only condemns the message when it answers a
 * command about the message. A 5xx to AUTH, or a relay refusing the whole session, means our relay
 * configuration (credentials, allowed IP, TLS) is wrong — every message would fail the same way,
 * and marking them permanent would lose mail to a config mistake that an operator can fix; it is
 * the relay's trouble, so it spends no attempt. 503 says the session was in the wrong state, not
 * that the message was refused (nodemailer's `isPermanentResponseCode` makes the same exception).
 *
 * Failures nodemailer detects before talking to the server (an address it cannot encode, a
 * message larger than the server's SIZE, content that asks for a file or URL) would fail the
 * same way on every retry, so they are permanent — the contract's "addresses the transport
 * refuses".
 *
 * `retryAfterMs` is only set when the server's reply names a delay ("try again in 5 minutes");
 * otherwise the caller's own backoff applies.
 */
export function classifySmtpError(err: unknown): SmtpFailure {
  if (err === null || typeof err !== 'object') {
    return { kind: 'transient', error: short(typeof err === 'string' && err ? err : 'Unknown SMTP error') };
  }
  const e = err as Record<string, unknown>;
  const nmCode = typeof e.code === 'string' && e.code ? e.code : undefined;
  const command = typeof e.command === 'string' ? e.command.toUpperCase() : '';
  const reply = pickReply(e);

  if (reply) {
    const { responseCode, response } = reply;
    const code = String(responseCode);
    const error = short(response);
    if (responseCode >= 400 && responseCode < 500) {
      const retryAfterMs = parseRetryAfterMs(response);
      const kind =
        responseCode === 421 || responseCode === 454 || isOutsideTransaction(nmCode, command)
          ? 'unavailable'
          : 'transient';
      return retryAfterMs === undefined ? { kind, error, code } : { kind, error, code, retryAfterMs };
    }
    if (responseCode >= 500 && responseCode < 600) {
      if (nmCode === 'EAUTH' || command.startsWith('AUTH')) {
        return {
          kind: 'unavailable',
          error: short(`SMTP relay refused authentication: ${response}`),
          code,
        };
      }
      if (responseCode === 503) return { kind: 'transient', error, code };
      if (!isMessageVerdict(nmCode, command)) return { kind: 'unavailable', error, code };
      return { kind: 'permanent', error, code };
    }
    return { kind: 'transient', error, code };
  }

  const message = typeof e.message === 'string' && e.message ? e.message : (nmCode ?? 'Unknown SMTP error');
  const error = short(message);
  if (nmCode && REFUSED_BEFORE_SENDING.has(nmCode)) {
    return { kind: 'permanent', error, code: nmCode };
  }
  if (nmCode && RELAY_UNREACHABLE.has(nmCode)) {
    return { kind: 'unavailable', error, code: nmCode };
  }
  return nmCode ? { kind: 'transient', error, code: nmCode } : { kind: 'transient', error };
}

/** Codes nodemailer raises itself, without a server reply, for a message no retry can fix. */
const REFUSED_BEFORE_SENDING = new Set([
  'EENVELOPE',
  'EMESSAGE',
  'EMAXRECIPIENTS',
  'EFILEACCESS',
  'EURLACCESS',
]);

/**
 * Codes without a server reply that say the relay could not be reached or kept (nodemailer's own
 * and the socket's): nothing about the message, everything about the relay.
 */
const RELAY_UNREACHABLE = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'ETLS',
  'EAUTH',
  'ENOAUTH',
  'EOAUTH2',
  'ECONFIG',
  'EPROTOCOL',
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ESTREAM',
  'EPROXY',
]);

/** A reply to the greeting, EHLO/HELO, STARTTLS or the connection itself: no message yet. */
function isOutsideTransaction(nmCode: string | undefined, command: string): boolean {
  if (nmCode === 'ECONNECTION' || nmCode === 'ETLS' || nmCode === 'EPROTOCOL') return true;
  return ['CONN', 'GREETING', 'EHLO', 'HELO', 'LHLO', 'STARTTLS'].some((c) => command.startsWith(c));
}

const MESSAGE_COMMANDS = ['MAIL FROM', 'RCPT TO', 'DATA', 'BDAT'];

function isMessageVerdict(nmCode: string | undefined, command: string): boolean {
  if (nmCode === 'EENVELOPE' || nmCode === 'EMESSAGE') return true;
  if (MESSAGE_COMMANDS.some((c) => command.startsWith(c))) return true;
  // An error carrying only a reply code (no nodemailer code, no command) is most likely a
  // verdict on the message; that is what "5xx is permanent" means by default.
  return nmCode === undefined && command === '';
}

interface Reply {
  responseCode: number;
  response: string;
}

function pickReply(e: Record<string, unknown>): Reply | undefined {
  const own = replyOf(e);
  // With several recipients nodemailer already reports a deferral over a refusal; only when the
  // top-level error lacks a reply do the per-recipient errors decide, with the same preference.
  if (own) return own;
  const perRecipient = Array.isArray(e.rejectedErrors)
    ? e.rejectedErrors
        .map((r) => (r && typeof r === 'object' ? replyOf(r as Record<string, unknown>) : undefined))
        .filter((r): r is Reply => r !== undefined)
    : [];
  return perRecipient.find((r) => r.responseCode < 500) ?? perRecipient[0];
}

function replyOf(e: Record<string, unknown>): Reply | undefined {
  const response = typeof e.response === 'string' ? e.response.trim() : '';
  let responseCode =
    typeof e.responseCode === 'number' && Number.isInteger(e.responseCode) ? e.responseCode : 0;
  if (!responseCode) {
    const m = /^([2-5]\d\d)(?:[ -]|$)/.exec(response);
    responseCode = m ? Number(m[1]) : 0;
  }
  if (responseCode < 200 || responseCode > 599) return undefined;
  return { responseCode, response: response || String(responseCode) };
}

const MAX_ERROR_LENGTH = 500;

/** One line, bounded: replies can be multi-line and error messages can carry whole transcripts. */
function short(text: string): string {
  const line = text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
  return line.length > MAX_ERROR_LENGTH ? `${line.slice(0, MAX_ERROR_LENGTH - 1)}…` : line;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/**
 * Reads a delay the server asked for: "try again in 60 seconds", "retry after 5 min",
 * "Retry-After: 120". Returns undefined when the reply names none ("try again later").
 */
export function parseRetryAfterMs(response: string): number | undefined {
  const m =
    /\b(?:try\s+again|retry)(?:\s+later)?(?:\s+in|\s+after|-after:?|:)\s*(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?)?\b/i.exec(
      response,
    );
  if (!m?.[1]) return undefined;
  const value = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase();
  const factor = unit === 'ms' || unit.startsWith('milli') ? UNIT_MS.ms : UNIT_MS[unit.charAt(0)];
  if (!factor || !Number.isFinite(value) || value <= 0) return undefined;
  return Math.min(Math.round(value * factor), MAX_RETRY_AFTER_MS);
}
