import { describe, expect, it } from 'vitest';
import { parsePostmarkRecord } from './webhook.js';

const id = '0b7c1e3a-5f2d-4c8e-9a1b-2c3d4e5f6a7b';
const bounce = (Type: string) => ({
  RecordType: 'Bounce',
  ID: 42,
  Type,
  MessageID: 'pm-1',
  Metadata: { email_id: id },
});

describe('Postmark records', () => {
  it.each([
    ['HardBounce', 'bounced', 'hard'],
    ['BadEmailAddress', 'bounced', 'hard'],
    ['SoftBounce', 'bounced', 'soft'],
    ['Transient', 'bounced', 'soft'],
    ['SpamComplaint', 'complained', undefined],
    ['AutoResponder', null, undefined],
    ['TemplateRenderingFailed', 'failed', undefined],
  ])('maps a %s bounce to %s', (kind, type, bounceType) => {
    const out = parsePostmarkRecord(bounce(kind), 'h');
    expect(out).toMatchObject({ kind: 'events', events: [{ type, eventId: 'Bounce:42', emailId: id }] });
    if (out.kind === 'events') expect(out.events[0]?.bounceType).toBe(bounceType);
  });

  it('builds stable ids for records without one, and refuses a record without its identity', () => {
    const open = { RecordType: 'Open', MessageID: 'pm-1', ReceivedAt: '2024-01-01T00:00:00Z' };
    expect(parsePostmarkRecord(open, 'h')).toMatchObject({
      events: [{ eventId: 'Open:pm-1:2024-01-01T00:00:00Z', type: 'opened', providerMessageId: 'pm-1' }],
    });
    const click = {
      RecordType: 'Click',
      MessageID: 'pm-1',
      ReceivedAt: 'x',
      OriginalLink: `https://e.x/${'a'.repeat(300)}`,
    };
    const out = parsePostmarkRecord(click, 'h');
    if (out.kind !== 'events') throw new Error('expected events');
    expect(out.events[0]?.eventId.length).toBeLessThanOrEqual(80);
    expect(parsePostmarkRecord({ RecordType: 'Delivery' }, 'h')).toMatchObject({ kind: 'invalid' });
    expect(parsePostmarkRecord({ RecordType: 'Bounce', Type: 'HardBounce' }, 'h')).toMatchObject({
      kind: 'invalid',
    });
  });
});
