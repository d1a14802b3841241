import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createStandardWebhooksChecker, signStandardWebhook, standardWebhooksKey } from './signature.js';

const now = Date.now();
const ts = Math.floor(now / 1000);

describe('Standard Webhooks signatures', () => {
  it('reads a whsec_ secret as base64 and any other secret as UTF-8 bytes', () => {
    const raw = randomBytes(24);
    expect(standardWebhooksKey(`whsec_${raw.toString('base64')}`)).toEqual(raw);
    expect(standardWebhooksKey('pässword')).toEqual(Buffer.from('pässword', 'utf8'));
    expect(standardWebhooksKey('whsec_')).toBeNull();
    expect(standardWebhooksKey('whsec_not base64!')).toBeNull();
  });

  it('matches an independent HMAC-SHA256 over "{id}.{timestamp}.{body}"', () => {
    const key = randomBytes(32);
    const body = '{"a":"é"}';
    const expected = createHmac('sha256', key).update(`msg_1.${ts}.${body}`).digest('base64');
    expect(signStandardWebhook(key, 'msg_1', ts, body)).toBe(`v1,${expected}`);
  });

  const key = Buffer.from('a-plain-secret');
  const check = createStandardWebhooksChecker(key);
  const body = Buffer.from('{"event_id":"e1"}');
  const headers = (over: Partial<Record<'id' | 'timestamp' | 'signature', string | undefined>> = {}) => ({
    id: 'msg_1',
    timestamp: String(ts),
    signature: signStandardWebhook(key, 'msg_1', ts, body.toString()),
    ...over,
  });

  it('accepts the right signature, also among several', () => {
    expect(check(headers(), body, now)).toEqual({ ok: true });
    const other = `v1,${randomBytes(32).toString('base64')}`;
    expect(check(headers({ signature: `${other} ${headers().signature}` }), body, now)).toEqual({ ok: true });
  });

  it('refuses missing headers, stale or malformed timestamps, other bodies and bodies that are not UTF-8', () => {
    expect(check(headers({ signature: undefined }), body, now).ok).toBe(false);
    expect(check(headers({ id: undefined }), body, now).ok).toBe(false);
    expect(check(headers({ timestamp: String(ts - 301) }), body, now).ok).toBe(false);
    expect(check(headers({ timestamp: String(ts + 301) }), body, now).ok).toBe(false);
    expect(check(headers({ timestamp: `${ts}.5` }), body, now).ok).toBe(false);
    expect(check(headers(), Buffer.from('{"event_id":"e2"}'), now).ok).toBe(false);
    const [, right] = headers().signature.split(',');
    expect(check(headers({ signature: `v2,${right}` }), body, now).ok).toBe(false);
    expect(check(headers({ signature: `v1,${right?.slice(0, -4)}` }), body, now).ok).toBe(false);
    expect(check(headers({ signature: 'v1' }), body, now).ok).toBe(false);
    const latin1 = Buffer.from([0x7b, 0xe9, 0x7d]);
    const sig = signStandardWebhook(key, 'msg_1', ts, latin1.toString());
    expect(check(headers({ signature: sig }), latin1, now)).toMatchObject({ ok: false });
  });
});
