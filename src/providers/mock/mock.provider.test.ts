import { describe, expect, it } from 'vitest';
import type { OutgoingMessage, SendOutcome } from '../email-provider.js';
import { MockProvider } from './mock.provider.js';

const message = (email = 'jane@example.com', over: Partial<OutgoingMessage> = {}): OutgoingMessage => ({
  messageId: '<m1@mailsystem.local>',
  from: 'Acme <no-reply@acme.test>',
  to: { email, name: 'Jane' },
  subject: 'Hi',
  html: '<p>Hi</p>',
  text: 'Hi',
  headers: { 'X-Tenant-Id': 't1' },
  ...over,
});

const transient: SendOutcome = { kind: 'transient', error: '421 busy', code: '421' };
const permanent: SendOutcome = { kind: 'permanent', error: '550 no', code: '550' };

describe('MockProvider', () => {
  it('accepts and records a message with a mock-<uuid> id', async () => {
    const mock = new MockProvider();
    const outcome = await mock.send(message());
    expect(mock.name).toBe('mock');
    expect(outcome.kind).toBe('sent');
    expect(outcome.kind === 'sent' && outcome.providerMessageId).toMatch(
      /^mock-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
    expect(mock.messages).toEqual([message()]);
  });

  it('gives every message its own id', async () => {
    const mock = new MockProvider();
    const a = await mock.send(message());
    const b = await mock.send(message());
    expect(a.kind === 'sent' && b.kind === 'sent' && a.providerMessageId !== b.providerMessageId).toBe(true);
  });

  it('records a snapshot, not the caller object', async () => {
    const mock = new MockProvider();
    const msg = message();
    await mock.send(msg);
    msg.subject = 'changed';
    msg.headers['X-Later'] = 'x';
    expect(mock.messages[0]?.subject).toBe('Hi');
    expect(mock.messages[0]?.headers).toEqual({ 'X-Tenant-Id': 't1' });
  });

  it('failNext answers the queued outcome `times` times for that recipient only, then accepts', async () => {
    const mock = new MockProvider().failNext('Jane@Example.com', transient, 2);
    expect(await mock.send(message('other@example.com'))).toMatchObject({ kind: 'sent' });
    expect(await mock.send(message())).toEqual(transient);
    expect(await mock.send(message())).toEqual(transient);
    expect(await mock.send(message())).toMatchObject({ kind: 'sent' });
    expect(mock.messages.map((m) => m.to.email)).toEqual(['other@example.com', 'jane@example.com']);
    expect(mock.attempts('jane@example.com')).toBe(3);
  });

  it('failNext queues add up in order', async () => {
    const mock = new MockProvider().failNext('a@x.test', transient).failNext('a@x.test', permanent);
    expect((await mock.send(message('a@x.test'))).kind).toBe('transient');
    expect((await mock.send(message('a@x.test'))).kind).toBe('permanent');
    expect((await mock.send(message('a@x.test'))).kind).toBe('sent');
  });

  it('script sees the per-recipient attempt number and can fall through with undefined', async () => {
    const seen: Array<[string, number]> = [];
    const mock = new MockProvider().script((msg, attempt) => {
      seen.push([msg.to.email, attempt]);
      return attempt < 3 ? transient : undefined;
    });
    const kinds = [];
    for (const email of ['a@x.test', 'b@x.test', 'a@x.test', 'a@x.test'])
      kinds.push((await mock.send(message(email))).kind);
    expect(kinds).toEqual(['transient', 'transient', 'transient', 'sent']);
    expect(seen).toEqual([
      ['a@x.test', 1],
      ['b@x.test', 1],
      ['a@x.test', 2],
      ['a@x.test', 3],
    ]);
    expect(mock.calls.map((c) => c.outcome.kind)).toEqual(kinds);
  });

  it('failNext wins over the script', async () => {
    const mock = new MockProvider().script(() => transient).failNext('a@x.test', permanent);
    expect((await mock.send(message('a@x.test'))).kind).toBe('permanent');
    expect((await mock.send(message('a@x.test'))).kind).toBe('transient');
  });

  it('fail.mock answers permanent and transient.mock answers transient, subdomains included', async () => {
    const mock = new MockProvider();
    expect(await mock.send(message('bounce@fail.mock'))).toMatchObject({ kind: 'permanent', code: '550' });
    expect(await mock.send(message('x@eu.FAIL.mock'))).toMatchObject({ kind: 'permanent' });
    expect(await mock.send(message('slow@transient.mock'))).toMatchObject({ kind: 'transient', code: '451' });
    expect(await mock.send(message('x@notfail.mock'))).toMatchObject({ kind: 'sent' });
    expect(mock.messages.map((m) => m.to.email)).toEqual(['x@notfail.mock']);
  });

  it('unavailable.mock answers unavailable; `down` makes every send unavailable until lifted', async () => {
    const mock = new MockProvider();
    expect(await mock.send(message('x@unavailable.mock'))).toMatchObject({
      kind: 'unavailable',
      code: '421',
    });
    mock.down = true;
    expect(await mock.send(message('jane@example.com'))).toMatchObject({
      kind: 'unavailable',
      code: 'ECONNREFUSED',
    });
    expect(mock.messages).toHaveLength(0);
    mock.down = false;
    expect(await mock.send(message('jane@example.com'))).toMatchObject({ kind: 'sent' });
    expect(mock.messages.map((m) => m.to.email)).toEqual(['jane@example.com']);
  });

  it('a script can override the domain convention', async () => {
    const mock = new MockProvider().script(() => ({ kind: 'sent', providerMessageId: 'forced' }));
    expect(await mock.send(message('bounce@fail.mock'))).toEqual({
      kind: 'sent',
      providerMessageId: 'forced',
    });
  });

  it('waits latencyMs before answering', async () => {
    const mock = new MockProvider({ latencyMs: 80 });
    const started = performance.now();
    await mock.send(message());
    expect(performance.now() - started).toBeGreaterThanOrEqual(75);
  });

  it('clear() forgets messages and attempts but keeps scripting; reset() drops everything', async () => {
    const mock = new MockProvider().failNext('a@x.test', transient, 5);
    await mock.send(message('a@x.test'));
    await mock.send(message('b@x.test'));
    mock.clear();
    expect(mock.messages).toEqual([]);
    expect(mock.calls).toEqual([]);
    expect(mock.attempts('a@x.test')).toBe(0);
    expect((await mock.send(message('a@x.test'))).kind).toBe('transient');
    mock.reset();
    expect((await mock.send(message('a@x.test'))).kind).toBe('sent');
  });

  it('close() resolves and can be called twice', async () => {
    const mock = new MockProvider();
    await expect(mock.close()).resolves.toBeUndefined();
    await expect(mock.close()).resolves.toBeUndefined();
  });
});
