import { describe, expect, it } from 'vitest';
import { parseMailgunEvent } from './webhook.js';

describe('Mailgun events', () => {
  it.each([
    [{ event: 'failed', severity: 'permanent', reason: 'bounce' }, 'bounced', 'hard'],
    [{ event: 'failed', severity: 'temporary', reason: 'generic' }, 'bounced', 'soft'],
    [{ event: 'failed', severity: 'permanent', reason: 'suppress-bounce' }, 'failed', undefined],
    [{ event: 'accepted' }, null, undefined],
    [{ event: 'complained' }, 'complained', undefined],
  ])('maps %o', (ev, type, bounceType) => {
    const out = parseMailgunEvent({ id: 'x', timestamp: 1_700_000_000.5, ...ev });
    if (out.kind !== 'events') throw new Error('expected events');
    expect(out.events[0]).toMatchObject({ type, eventId: 'x' });
    expect(out.events[0]?.bounceType).toBe(bounceType);
    expect(out.events[0]?.occurredAt?.getTime()).toBe(1_700_000_000_500);
  });

  it('needs an id and an event name', () => {
    expect(parseMailgunEvent({ event: 'delivered' })).toMatchObject({ kind: 'invalid' });
    expect(parseMailgunEvent('x')).toMatchObject({ kind: 'invalid' });
  });
});
