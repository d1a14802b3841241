import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseSendgridEvents, sendgridPublicKey } from './webhook.js';

describe('SendGrid events', () => {
  it('reads the verification key as base64 DER or PEM, P-256 only', () => {
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    expect(sendgridPublicKey(p256.export({ format: 'der', type: 'spki' }).toString('base64'))).not.toBeNull();
    expect(sendgridPublicKey(p256.export({ format: 'pem', type: 'spki' }) as string)).not.toBeNull();
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
    expect(sendgridPublicKey(p384.export({ format: 'der', type: 'spki' }).toString('base64'))).toBeNull();
    expect(sendgridPublicKey('not a key')).toBeNull();
  });

  it('maps event names, bounce classes and the X-Message-Id', () => {
    const out = parseSendgridEvents([
      { sg_event_id: 'a', event: 'bounce', type: 'bounce', sg_message_id: 'abc.def.filter0001.1.2.0' },
      { sg_event_id: 'b', event: 'bounce', type: 'blocked' },
      { sg_event_id: 'c', event: 'dropped', reason: 'Bounced Address' },
      { sg_event_id: 'd', event: 'processed' },
      { sg_event_id: 'e', event: 'spamreport' },
    ]);
    if (out.kind !== 'events') throw new Error('expected events');
    expect(out.events.map((e) => [e.type, e.bounceType ?? null])).toEqual([
      ['bounced', 'hard'],
      ['bounced', 'soft'],
      ['failed', null],
      [null, null],
      ['complained', null],
    ]);
    expect(out.events[0]?.providerMessageId).toBe('abc.def');
  });

  it('refuses a body that is not an array of identified events', () => {
    expect(parseSendgridEvents({ event: 'open' })).toMatchObject({ kind: 'invalid' });
    expect(parseSendgridEvents([{ event: 'open' }])).toMatchObject({
      kind: 'invalid',
      problems: [{ field: '0' }],
    });
  });
});
