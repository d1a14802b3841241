/**
 * Strict recipient and header validation. We accept the addresses real mailboxes use (dot-atom
 * local part, LDH domain with a real TLD) and refuse everything that could smuggle a header or a
 * second recipient: quoted local parts, comments, IP literals, CR/LF/NUL, commas, angle brackets.
 */
const LOCAL_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$/;
const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
const TLD = /^(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$/;

export function isValidEmailAddress(address: string): boolean {
  if (address.length > 254 || address.length < 3) return false;
  const at = address.lastIndexOf('@');
  if (at <= 0 || at !== address.indexOf('@')) return false;
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local.length > 64) return false;
  if (!local.split('.').every((part) => LOCAL_ATOM.test(part))) return false;
  const labels = domain.split('.');
  if (labels.length < 2) return false;
  if (!labels.every((l) => LABEL.test(l))) return false;
  return TLD.test(labels[labels.length - 1] ?? '');
}

/** Addresses are compared and stored in lower case (as SES and Postmark compare them). */
export const normalizeEmailAddress = (address: string): string => address.trim().toLowerCase();

/** CR, LF and NUL end or corrupt a header line; no header-bound value may contain them. */
const HEADER_BREAK = /[\r\n\0]/;
export const hasHeaderBreak = (value: string): boolean => HEADER_BREAK.test(value);

/** RFC 5322 field-name: printable ASCII except colon and space. */
const HEADER_NAME = /^[!-9;-~]{1,76}$/;

/**
 * Headers the system owns. A tenant may not set them: they decide who receives the message, what
 * it is, or how it is tracked.
 */
const RESERVED_HEADERS = new Set([
  'from',
  'sender',
  'to',
  'cc',
  'bcc',
  'reply-to',
  'subject',
  'date',
  'message-id',
  'in-reply-to',
  'references',
  'return-path',
  'received',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
  'content-disposition',
  'dkim-signature',
  'list-unsubscribe',
  'list-unsubscribe-post',
  'resent-to',
  'resent-cc',
  'resent-bcc',
  'resent-from',
  'resent-sender',
  'delivered-to',
  'envelope-to',
  'x-original-to',
]);

/**
 * Header families that relays read as their own instructions and echo back in their webhooks
 * (custom variables, tags, metadata). A tenant setting them could make a provider report events
 * against another tenant's email id, so they are Mailsystem's alone.
 */
const RESERVED_PREFIXES = [
  'x-mailgun-',
  'x-smtpapi',
  'x-ses-',
  'x-pm-',
  'x-mailsystem-',
  'x-sg-',
  'x-resend-',
];

export type HeaderProblem = {
  header: string;
  problem: 'invalid_name' | 'reserved' | 'line_break' | 'too_long';
};

/** Checks custom headers; returns every problem found (empty when the headers may be sent). */
export function checkCustomHeaders(headers: Record<string, string>): HeaderProblem[] {
  const problems: HeaderProblem[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(name)) problems.push({ header: name, problem: 'invalid_name' });
    else if (
      RESERVED_HEADERS.has(name.toLowerCase()) ||
      RESERVED_PREFIXES.some((p) => name.toLowerCase().startsWith(p))
    )
      problems.push({ header: name, problem: 'reserved' });
    else if (hasHeaderBreak(value)) problems.push({ header: name, problem: 'line_break' });
    else if (value.length > 998) problems.push({ header: name, problem: 'too_long' });
  }
  return problems;
}
