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

/**
 * RFC 2047 encoded-words (`=?charset?q?…?=`). A tenant never needs to write one — Mailsystem
 * encodes non-ASCII names itself — and one written by hand can hide a different address or a line
 * break from every check made on the text.
 */
const ENCODED_WORD = /=\?[^?\s]*\?[bBqQ]\?[^?]*\?=/;
export const hasEncodedWord = (value: string): boolean => ENCODED_WORD.test(value);

/** A mailbox as the API takes it (`{email, name}`) once checked. */
export interface Mailbox {
  email: string;
  name: string | null;
}

export type MailboxInput = string | { email: string; name?: string | null | undefined };

/** `"Name" <local@domain>` or `Name <local@domain>` or a bare address. */
const NAME_ADDR = /^\s*(?:"([^"]*)"|([^"<>]*?))\s*<([^<>]*)>\s*$/;

/**
 * Parses a sender-like address (`"Billing <billing@example.com>"` or `{email, name}`) strictly:
 * the address must be one real mailboxes use (isValidEmailAddress), and the display name may not
 * carry a line break, an encoded-word, quotes, a backslash or angle brackets (each a way to make a
 * name show, or parse as, another address). Returns the mailbox or why it is refused.
 */
export function parseMailbox(
  input: MailboxInput,
): { ok: true; mailbox: Mailbox } | { ok: false; problem: string } {
  let email: string;
  let name: string | null;
  if (typeof input === 'string') {
    if (hasHeaderBreak(input)) return { ok: false, problem: 'must not contain CR, LF or NUL' };
    const m = NAME_ADDR.exec(input);
    if (m) {
      email = (m[3] ?? '').trim();
      name = (m[1] ?? m[2] ?? '').trim() || null;
    } else {
      email = input.trim();
      name = null;
    }
  } else {
    email = input.email.trim();
    name = input.name?.trim() || null;
  }
  if (hasHeaderBreak(email) || (name !== null && hasHeaderBreak(name)))
    return { ok: false, problem: 'must not contain CR, LF or NUL' };
  if (!isValidEmailAddress(email)) return { ok: false, problem: 'is not a valid email address' };
  if (name !== null) {
    if (hasEncodedWord(name)) return { ok: false, problem: 'must not contain an RFC 2047 encoded-word' };
    if (/["\\<>]/.test(name))
      return { ok: false, problem: 'the name must not contain quotes, backslashes or <>' };
    if (name.length > 200) return { ok: false, problem: 'the name is longer than 200 characters' };
  }
  return { ok: true, mailbox: { email: normalizeEmailAddress(email), name } };
}

/** The header form of a checked mailbox; the name is quoted, and nodemailer encodes non-ASCII. */
export const formatMailbox = (m: Mailbox): string => (m.name ? `"${m.name}" <${m.email}>` : m.email);

/** The domain part of an address, lower case. */
export const domainOf = (email: string): string => email.slice(email.lastIndexOf('@') + 1).toLowerCase();

/**
 * A domain a tenant may add: LDH labels, at least two, a real TLD, no trailing dot, at most 253
 * characters (IDNs are given as, or turned into, their A-labels by the caller).
 */
export function isValidDomainName(name: string): boolean {
  if (name.length < 3 || name.length > 253) return false;
  const labels = name.split('.');
  if (labels.length < 2) return false;
  if (!labels.every((l) => LABEL.test(l))) return false;
  return TLD.test(labels[labels.length - 1] ?? '');
}

/** The longest of `domains` that `domain` is, or is a subdomain of; null when none. */
export function coveringDomain(domain: string, domains: readonly string[]): string | null {
  let best: string | null = null;
  for (const d of domains) {
    if ((domain === d || domain.endsWith(`.${d}`)) && (best === null || d.length > best.length)) best = d;
  }
  return best;
}
