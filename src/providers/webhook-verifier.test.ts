import { describe, expect, it } from 'vitest';
import { checkTimestamp, emailIdFromMessageId, parseJson, secretsMatch, toDate } from './webhook-verifier.js';

const id = '0b7c1e3a-5f2d-4c8e-9a1b-2c3d4e5f6a7b';

describe('webhook helpers', () => {
  it('finds our email id in a Message-ID with or without brackets, and nothing else', () => {
    expect(emailIdFromMessageId(`<${id}@mailsystem.local>`)).toBe(id);
    expect(emailIdFromMessageId(`${id.toUpperCase()}@x.test`)).toBe(id);
    expect(emailIdFromMessageId('<20130503182626.18666.16540@sandbox.mailgun.org>')).toBeNull();
    expect(emailIdFromMessageId(id)).toBeNull();
    expect(emailIdFromMessageId(undefined)).toBeNull();
  });

  it('reads unix seconds and ISO times, nothing else', () => {
    expect(toDate(1_700_000_000)?.toISOString()).toBe('2023-11-14T22:13:20.000Z');
    expect(toDate('1700000000.5')?.getTime()).toBe(1_700_000_000_500);
    expect(toDate('2024-02-22T23:41:12.126Z')?.toISOString()).toBe('2024-02-22T23:41:12.126Z');
    expect(toDate('yesterday')).toBeNull();
    expect(toDate({})).toBeNull();
  });

  it('checks a timestamp header against a tolerance', () => {
    const now = 1_700_000_000_000;
    expect(checkTimestamp('1700000000', 300, now)).toEqual({ ok: true, seconds: 1_700_000_000 });
    expect(checkTimestamp('1699999699', 300, now).ok).toBe(false);
    expect(checkTimestamp('1700000000 ', 300, now).ok).toBe(false);
    expect(checkTimestamp(undefined, 300, now).ok).toBe(false);
  });

  it('compares secrets of any length', () => {
    expect(secretsMatch('abc', 'abc')).toBe(true);
    expect(secretsMatch('abc', 'abcd')).toBe(false);
  });

  it('refuses JSON PostgreSQL could not store', () => {
    expect(parseJson('{"a":"\\u0000"}')).toMatchObject({ kind: 'invalid', problems: [{ field: 'a' }] });
    expect(parseJson('{')).toMatchObject({ kind: 'invalid', malformed: true });
    expect(parseJson('{"a":1}')).toEqual({ ok: true, value: { a: 1 } });
  });
});
