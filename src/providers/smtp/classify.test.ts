import { describe, expect, it } from 'vitest';
import { classifySmtpError, parseRetryAfterMs } from './classify.js';

/** Shaped like nodemailer's SMTPConnection#_formatError output. */
function smtpError(
  code: string,
  response: string | false,
  command: string,
  extra: Record<string, unknown> = {},
): Error & Record<string, unknown> {
  const err = new Error(response ? `Failed: ${response}` : 'Failed') as Error & Record<string, unknown>;
  err.code = code;
  err.command = command;
  if (response) {
    err.response = response;
    err.responseCode = Number(response.slice(0, 3));
  }
  return Object.assign(err, extra);
}

describe('classifySmtpError: SMTP replies', () => {
  it.each([
    ['450 4.2.1 Mailbox busy', 'RCPT TO'],
    ['451 4.7.1 Greylisted, please try again later', 'RCPT TO'],
    ['452 4.5.3 Too many recipients', 'RCPT TO'],
    ['432 4.7.12 A password transition is needed', 'AUTH PLAIN'],
  ])('%s → transient with the reply code and no invented delay', (response, command) => {
    const outcome = classifySmtpError(smtpError('EENVELOPE', response, command));
    expect(outcome).toEqual({ kind: 'transient', error: response, code: response.slice(0, 3) });
    expect('retryAfterMs' in outcome).toBe(false);
  });

  it.each([
    ['421 4.7.0 Too many connections, slow down', 'RCPT TO'],
    ['421 4.3.2 Service not available, closing transmission channel', 'MAIL FROM'],
    ['454 4.7.0 TLS not available due to temporary reason', 'MAIL FROM'],
    ['421 4.3.2 Try again later', 'CONN'],
    ['450 4.3.2 Not accepting connections', 'EHLO'],
  ])('%s on %s → unavailable: the relay, not the message', (response, command) => {
    expect(classifySmtpError(smtpError('EENVELOPE', response, command))).toEqual({
      kind: 'unavailable',
      error: response,
      code: response.slice(0, 3),
    });
  });

  it('sets retryAfterMs when the server names a delay', () => {
    const outcome = classifySmtpError(
      smtpError('EENVELOPE', '421 4.7.0 Rate limited, try again in 5 minutes', 'RCPT TO'),
    );
    expect(outcome).toMatchObject({ kind: 'unavailable', code: '421', retryAfterMs: 300_000 });
    const own = classifySmtpError(smtpError('EENVELOPE', '451 4.7.1 Greylisted, retry in 60 s', 'RCPT TO'));
    expect(own).toMatchObject({ kind: 'transient', code: '451', retryAfterMs: 60_000 });
  });

  it.each([
    ['550 5.1.1 No such user', 'RCPT TO', 'EENVELOPE'],
    ['553 5.7.1 Sender address rejected: not owned by user', 'MAIL FROM', 'EENVELOPE'],
    ['552 5.3.4 Message too big', 'DATA', 'EMESSAGE'],
    ['554 5.7.1 Message rejected as spam', 'DATA', 'EMESSAGE'],
  ])('%s on %s → permanent', (response, command, code) => {
    expect(classifySmtpError(smtpError(code, response, command))).toEqual({
      kind: 'permanent',
      error: response,
      code: response.slice(0, 3),
    });
  });

  it('5xx on AUTH is unavailable: a relay misconfiguration must not lose mail', () => {
    const outcome = classifySmtpError(
      smtpError('EAUTH', '535 5.7.8 Authentication credentials invalid', 'AUTH PLAIN'),
    );
    expect(outcome.kind).toBe('unavailable');
    expect(outcome.code).toBe('535');
    expect(outcome.error).toContain('535 5.7.8 Authentication credentials invalid');
  });

  it('5xx outside a transaction (greeting, EHLO) is unavailable', () => {
    const greeting = classifySmtpError(
      smtpError('EPROTOCOL', '554 5.7.1 No SMTP service for your IP', 'CONN'),
    );
    expect(greeting).toMatchObject({ kind: 'unavailable', code: '554' });
    const ehlo = classifySmtpError(smtpError('EPROTOCOL', '550 5.7.1 Access denied', 'EHLO'));
    expect(ehlo).toMatchObject({ kind: 'unavailable', code: '550' });
  });

  it('503 bad sequence is transient even on DATA', () => {
    expect(
      classifySmtpError(smtpError('EENVELOPE', '503 5.5.1 Error: need RCPT command', 'DATA')),
    ).toMatchObject({
      kind: 'transient',
      code: '503',
    });
  });

  it('a bare error with only a 5xx reply code is permanent', () => {
    expect(classifySmtpError({ responseCode: 550, response: '550 Rejected' })).toEqual({
      kind: 'permanent',
      error: '550 Rejected',
      code: '550',
    });
  });

  it('reads the code from the response when responseCode is missing', () => {
    expect(
      classifySmtpError({ code: 'EENVELOPE', command: 'RCPT TO', response: '550 5.1.1 Unknown' }),
    ).toMatchObject({ kind: 'permanent', code: '550' });
  });

  it('prefers a deferred recipient when the top-level error has no reply', () => {
    const err = smtpError('EENVELOPE', false, 'RCPT TO', {
      rejected: ['a@example.com', 'b@example.com'],
      rejectedErrors: [
        smtpError('EENVELOPE', '550 5.1.1 No such user', 'RCPT TO'),
        smtpError('EENVELOPE', '452 4.2.2 Mailbox full', 'RCPT TO'),
      ],
    });
    expect(classifySmtpError(err)).toEqual({
      kind: 'transient',
      error: '452 4.2.2 Mailbox full',
      code: '452',
    });
  });

  it('flattens a multi-line reply into one line', () => {
    const outcome = classifySmtpError(
      smtpError('EMESSAGE', '550-5.7.1 First line\r\n550 5.7.1 Second line', 'DATA'),
    );
    expect(outcome.error).toBe('550-5.7.1 First line 550 5.7.1 Second line');
    expect(outcome.kind).toBe('permanent');
  });
});

describe('classifySmtpError: no reply', () => {
  it.each([
    'ECONNECTION',
    'ETIMEDOUT',
    'ESOCKET',
    'EDNS',
    'ETLS',
    'EPROXY',
    'EAUTH',
    'ENOAUTH',
    'ESTREAM',
    'ECONNREFUSED',
    'ECONNRESET',
    'ENOTFOUND',
  ])('%s → unavailable with the code: the relay could not be reached', (code) => {
    const err = smtpError(code, false, 'CONN');
    err.message = 'connect ECONNREFUSED 127.0.0.1:2525';
    expect(classifySmtpError(err)).toEqual({
      kind: 'unavailable',
      error: 'connect ECONNREFUSED 127.0.0.1:2525',
      code,
    });
  });

  it('EABORT (the caller aborted) stays transient', () => {
    expect(classifySmtpError(smtpError('EABORT', false, 'DATA'))).toMatchObject({ kind: 'transient' });
  });

  it.each(['EENVELOPE', 'EMESSAGE', 'EMAXRECIPIENTS', 'EFILEACCESS', 'EURLACCESS'])(
    '%s raised before sending → permanent',
    (code) => {
      expect(classifySmtpError(smtpError(code, false, 'API'))).toMatchObject({ kind: 'permanent', code });
    },
  );

  it('a timeout keeps its message, not a stack', () => {
    const err = smtpError('ETIMEDOUT', false, 'CONN');
    err.message = 'Greeting never received';
    const outcome = classifySmtpError(err);
    expect(outcome).toEqual({ kind: 'unavailable', error: 'Greeting never received', code: 'ETIMEDOUT' });
    expect(outcome.error).not.toContain('    at ');
  });

  it('unknown errors and non-errors are transient', () => {
    expect(classifySmtpError(new Error('something odd'))).toEqual({
      kind: 'transient',
      error: 'something odd',
    });
    expect(classifySmtpError('boom')).toEqual({ kind: 'transient', error: 'boom' });
    expect(classifySmtpError(undefined)).toEqual({ kind: 'transient', error: 'Unknown SMTP error' });
    expect(classifySmtpError({ code: 'EWHATEVER' })).toEqual({
      kind: 'transient',
      error: 'EWHATEVER',
      code: 'EWHATEVER',
    });
  });

  it('bounds the error text', () => {
    const outcome = classifySmtpError(new Error('x'.repeat(5000)));
    expect(outcome.error.length).toBeLessThanOrEqual(500);
  });
});

describe('parseRetryAfterMs', () => {
  it.each([
    ['421 4.7.0 Try again in 60 seconds', 60_000],
    ['451 Please retry after 30s', 30_000],
    ['421 try again in 5 min', 300_000],
    ['454 Retry-After: 120', 120_000],
    ['450 try again later in 2 hours', 7_200_000],
    ['421 retry in 1500 ms', 1_500],
  ])('%s → %d', (response, ms) => {
    expect(parseRetryAfterMs(response)).toBe(ms);
  });

  it.each(['421 4.7.0 Try again later', '451 4.7.1 Greylisted 4.7.1', '421 Service not available'])(
    '%s → undefined',
    (response) => {
      expect(parseRetryAfterMs(response)).toBeUndefined();
    },
  );
});
