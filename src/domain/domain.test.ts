import { describe, expect, it } from 'vitest';
import {
  checkCustomHeaders,
  coveringDomain,
  formatMailbox,
  hasHeaderBreak,
  isValidEmailAddress,
  parseMailbox,
} from './address.js';
import { advanceStatus } from './email-status.js';
import { canRetry, retryDelayMs } from './retry-policy.js';

describe('retry policy', () => {
  const policy = { maxRetries: 5, baseSeconds: 30, maxSeconds: 3600 };

  it('allows MAX_RETRIES retries after the first attempt', () => {
    expect(canRetry(policy, 1)).toBe(true);
    expect(canRetry(policy, 5)).toBe(true);
    expect(canRetry(policy, 6)).toBe(false);
  });

  it('backs off exponentially with full jitter, capped', () => {
    expect(retryDelayMs(policy, 1, () => 0.999999)).toBe(29_999);
    expect(retryDelayMs(policy, 2, () => 0.999999)).toBe(59_999);
    expect(retryDelayMs(policy, 3, () => 0.5)).toBe(60_000);
    expect(retryDelayMs(policy, 20, () => 0.999999)).toBe(3_599_996);
    expect(retryDelayMs(policy, 3, () => 0)).toBe(0);
  });

  it('waits at least as long as the provider asks', () => {
    expect(retryDelayMs(policy, 1, () => 0, 90_000)).toBe(90_000);
  });
});

describe('status precedence', () => {
  it('moves forward along queued → processing → sent → delivered → opened', () => {
    expect(advanceStatus('queued', 'processing')).toBe('processing');
    expect(advanceStatus('sent', 'delivered')).toBe('delivered');
    expect(advanceStatus('delivered', 'opened')).toBe('opened');
  });

  it('never moves backwards: a late delivered keeps opened', () => {
    expect(advanceStatus('opened', 'delivered')).toBe('opened');
    expect(advanceStatus('delivered', 'sent')).toBe('delivered');
  });

  it('keeps final statuses final', () => {
    expect(advanceStatus('bounced', 'opened')).toBe('bounced');
    expect(advanceStatus('complained', 'delivered')).toBe('complained');
    expect(advanceStatus('failed', 'sent')).toBe('failed');
    expect(advanceStatus('opened', 'complained')).toBe('complained');
  });
});

describe('addresses and headers', () => {
  it.each([
    'alice@example.com',
    'a.b+tag@sub.example.co.uk',
    "o'brien@example.ie",
    'x@xn--bcher-kva.example',
  ])('accepts %s', (a) => expect(isValidEmailAddress(a)).toBe(true));

  it.each([
    'alice',
    'alice@localhost',
    'a@b.c',
    'a b@example.com',
    'a@exa mple.com',
    `${'a'.repeat(65)}@example.com`,
  ])('refuses %s', (a) => expect(isValidEmailAddress(a)).toBe(false));

  it('finds CR, LF and NUL', () => {
    expect(hasHeaderBreak('ok value')).toBe(false);
    expect(hasHeaderBreak('a\rb')).toBe(true);
    expect(hasHeaderBreak('a\nb')).toBe(true);
    expect(hasHeaderBreak('a\0b')).toBe(true);
  });

  it('refuses reserved and malformed header names', () => {
    expect(checkCustomHeaders({ 'X-Ok': 'v' })).toEqual([]);
    expect(checkCustomHeaders({ BCC: 'x', 'Bad Name': 'v', 'X-Break': 'a\nb' })).toEqual([
      { header: 'BCC', problem: 'reserved' },
      { header: 'Bad Name', problem: 'invalid_name' },
      { header: 'X-Break', problem: 'line_break' },
    ]);
  });

  it('refuses headers relays read as instructions and echo into their webhooks', () => {
    const names = [
      'X-Mailgun-Variables',
      'X-SMTPAPI',
      'X-SES-MESSAGE-TAGS',
      'X-PM-Metadata-email_id',
      'X-Mailsystem-Email',
    ];
    expect(checkCustomHeaders(Object.fromEntries(names.map((n) => [n, '{"email_id":"x"}'])))).toEqual(
      names.map((header) => ({ header, problem: 'reserved' })),
    );
  });
});

describe('sender addresses', () => {
  it('reads "Name <address>", a bare address and {email, name}', () => {
    expect(parseMailbox('Billing <Billing@Example.com>')).toEqual({
      ok: true,
      mailbox: { email: 'billing@example.com', name: 'Billing' },
    });
    expect(parseMailbox('"Billing, Inc." <b@example.com>')).toEqual({
      ok: true,
      mailbox: { email: 'b@example.com', name: 'Billing, Inc.' },
    });
    expect(parseMailbox('b@example.com')).toEqual({
      ok: true,
      mailbox: { email: 'b@example.com', name: null },
    });
    expect(parseMailbox({ email: 'b@example.com', name: 'Zoë' })).toEqual({
      ok: true,
      mailbox: { email: 'b@example.com', name: 'Zoë' },
    });
    expect(formatMailbox({ email: 'b@example.com', name: 'Billing, Inc.' })).toBe(
      '"Billing, Inc." <b@example.com>',
    );
  });

  it('refuses line breaks, encoded-words and names that hide another address', () => {
    for (const input of [
      'A\r\nBcc: x@example.com <a@example.com>',
      { email: 'a@example.com', name: 'A\nB' },
      '=?utf-8?b?c2VjdXJpdHlAYmFuay5leGFtcGxl?= <a@example.com>',
      { email: 'a@example.com', name: 'x =?UTF-8?Q?=0D=0A?= y' },
      { email: 'a@example.com', name: 'support@bank.example <a@example.com>' },
      'a@example.com, b@example.com',
      '<a@example.com> <b@example.com>',
      'nobody',
    ]) {
      expect(parseMailbox(input).ok, JSON.stringify(input)).toBe(false);
    }
  });

  it('finds the longest domain covering an address', () => {
    expect(coveringDomain('mail.a.example', ['example', 'a.example'])).toBe('a.example');
    expect(coveringDomain('ba.example', ['a.example'])).toBeNull();
  });
});
