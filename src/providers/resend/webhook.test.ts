import { describe, expect, it } from 'vitest';
import { parseResendEvent } from './webhook.js';

const id = '0b7c1e3a-5f2d-4c8e-9a1b-2c3d4e5f6a7b';

describe('Resend events', () => {
  it.each([
    ['tags as an object', { tags: { email_id: id } }],
    ['tags as a list', { tags: [{ name: 'email_id', value: id }] }],
    ['our Message-ID header', { headers: [{ name: 'Message-ID', value: `<${id}@mailsystem.local>` }] }],
  ])('finds our email id in %s', (_name, extra) => {
    const out = parseResendEvent('msg_1', { type: 'email.opened', data: { email_id: 're_1', ...extra } });
    expect(out).toMatchObject({
      kind: 'events',
      events: [{ emailId: id, providerMessageId: 're_1', eventId: 'msg_1' }],
    });
  });

  it('never takes an email id from a header a tenant can set', () => {
    const out = parseResendEvent('msg_2', {
      type: 'email.complained',
      data: {
        email_id: 're_2',
        headers: [
          { name: 'email_id', value: id },
          { name: 'X-Email-Id', value: id },
        ],
        tags: [{ name: 'Message-ID', value: `<${id}@mailsystem.local>` }],
      },
    });
    expect(out).toMatchObject({ kind: 'events', events: [{ emailId: null, providerMessageId: 're_2' }] });
  });

  it('treats a Transient bounce as soft and an unclassified one as hard', () => {
    const soft = parseResendEvent('m', { type: 'email.bounced', data: { bounce: { type: 'Transient' } } });
    const hard = parseResendEvent('m', { type: 'email.bounced', data: {} });
    expect(soft).toMatchObject({ events: [{ bounceType: 'soft' }] });
    expect(hard).toMatchObject({ events: [{ bounceType: 'hard' }] });
  });
});
