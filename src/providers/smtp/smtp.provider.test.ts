import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type SmtpSink, startSmtpSink } from '../../../test/support/smtp.js';
import type { SmtpConfig } from '../../config/config.js';
import { CaptureSmtpServer } from '../../dev/capture-server.js';
import type { EmailProvider, OutgoingMessage } from '../email-provider.js';
import { buildMime } from '../mime.js';
import { MockProvider } from '../mock/mock.provider.js';
import { createProviderRegistry } from '../registry.js';
import { parseQueueId, SmtpProvider } from './smtp.provider.js';

const smtpConfig = (port: number, over: Partial<SmtpConfig> = {}): SmtpConfig => ({
  host: '127.0.0.1',
  port,
  user: null,
  password: null,
  secure: false,
  from: 'Mailsystem <no-reply@mailsystem.local>',
  poolSize: 5,
  timeoutMs: 5000,
  maxPerSecond: 0,
  ...over,
});

const message = (over: Partial<OutgoingMessage> = {}): OutgoingMessage => ({
  messageId: `<${randomUUID()}@mailsystem.local>`,
  from: 'Acme Billing <billing@acme.test>',
  to: { email: 'jane@example.com', name: 'Jane' },
  subject: 'Your invoice',
  html: '<p>Hello <b>Jane</b></p>',
  text: 'Hello Jane',
  headers: {},
  ...over,
});

/** Recipients the sink answers with a scripted rejection at RCPT TO. */
const REPLIES: Record<string, { code: number; message: string }> = {
  'greylisted@example.com': { code: 451, message: '4.7.1 Greylisted, please try again later' },
  'nobody@example.com': { code: 550, message: '5.1.1 No such user' },
};

describe('SmtpProvider against a real SMTP server', () => {
  let sink: SmtpSink;
  let provider: SmtpProvider;
  const sessions = new Set<string>();

  beforeAll(async () => {
    sink = await startSmtpSink({
      reply: (rcpt, session) => {
        sessions.add(session.id);
        return REPLIES[rcpt];
      },
    });
    provider = new SmtpProvider(smtpConfig(sink.port));
  });
  afterEach(() => {
    sink.clear();
    sessions.clear();
  });
  afterAll(async () => {
    await provider?.close();
    await sink?.stop();
  });

  it('delivers the message with its Message-ID, parts, headers and an encoded display name', async () => {
    const msg = message({
      subject: 'Rechnung Nr. 42 — fällig ✓',
      to: { email: 'jane.doe@example.com', name: 'Doe, Jane "JD" Ünal' },
      html: '<h1>Invoice</h1><p>Total: 10&nbsp;€</p>',
      text: 'Invoice\nTotal: 10 €',
      headers: {
        'X-Tenant-Id': 'tenant-123',
        'List-Unsubscribe': '<https://example.com/u/abc>, <mailto:unsubscribe@example.com>',
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      },
    });
    const outcome = await provider.send(msg);
    expect(outcome.kind).toBe('sent');

    const [received] = await sink.waitFor(1);
    expect(received).toBeDefined();
    if (!received) return;
    expect(received.messageId).toBe(msg.messageId);
    expect(received.subject).toBe(msg.subject);
    expect(received.html?.trim()).toBe(msg.html);
    expect(received.text?.trim()).toBe(msg.text);
    expect(received.to).toEqual([{ name: 'Doe, Jane "JD" Ünal', address: 'jane.doe@example.com' }]);
    expect(received.from).toEqual({ name: 'Acme Billing', address: 'billing@acme.test' });
    expect(received.envelope).toEqual({ from: 'billing@acme.test', to: ['jane.doe@example.com'] });
    expect(received.headers.get('x-tenant-id')).toBe('tenant-123');
    // Custom headers arrive verbatim (name spelling included) once folding is undone.
    const headerLines =
      received.raw
        .split('\r\n\r\n')[0]
        ?.replace(/\r\n(?=[ \t])/g, '')
        .split('\r\n') ?? [];
    for (const [name, value] of Object.entries(msg.headers)) {
      expect(headerLines).toContain(`${name}: ${value}`);
    }
    // Only one To line, so the comma in the name did not split the recipient in two.
    expect(received.raw.match(/^To: /gm)).toHaveLength(1);
  });

  it('sends a message built beforehand (raw) as those bytes, with the envelope of its From and To or its envelope sender', async () => {
    const msg = message({ headers: { 'X-Tenant-Id': 'tenant-123' } });
    const raw = await buildMime(msg);
    expect((await provider.send({ ...msg, raw })).kind).toBe('sent');
    const bounced = message({ to: { email: 'second@example.com' }, envelopeFrom: 'bounces@mail.acme.test' });
    expect((await provider.send({ ...bounced, raw: await buildMime(bounced) })).kind).toBe('sent');

    const [first, second] = await sink.waitFor(2);
    expect(first?.raw.replace(/\r\n$/, '')).toBe(raw.toString('utf8').replace(/\r\n$/, ''));
    expect(first?.envelope).toEqual({ from: 'billing@acme.test', to: ['jane@example.com'] });
    expect(first?.messageId).toBe(msg.messageId);
    expect(second?.envelope).toEqual({ from: 'bounces@mail.acme.test', to: ['second@example.com'] });
    expect(second?.from).toEqual({ name: 'Acme Billing', address: 'billing@acme.test' });
  });

  it('reports the capture server queue id as providerMessageId', async () => {
    const outcome = await provider.send(message());
    const [received] = sink.server.messages();
    expect(received).toBeDefined();
    expect(outcome).toEqual({
      kind: 'sent',
      providerMessageId: received?.id,
      response: `250 Ok: queued as ${received?.id}`,
    });
  });

  it('a recipient answered 451 is transient with code 451', async () => {
    const outcome = await provider.send(message({ to: { email: 'greylisted@example.com' } }));
    expect(outcome).toEqual({
      kind: 'transient',
      code: '451',
      error: '451 4.7.1 Greylisted, please try again later',
    });
    expect(sink.server.messages()).toHaveLength(0);
  });

  it('a recipient answered 550 is permanent with code 550', async () => {
    const outcome = await provider.send(message({ to: { email: 'nobody@example.com' } }));
    expect(outcome).toEqual({ kind: 'permanent', code: '550', error: '550 5.1.1 No such user' });
    expect(sink.server.messages()).toHaveLength(0);
  });

  it('keeps delivering after a rejection (the pooled session is reset, not poisoned)', async () => {
    const outcomes = [];
    for (const email of [
      'nobody@example.com',
      'ok@example.com',
      'greylisted@example.com',
      'ok2@example.com',
    ]) {
      outcomes.push((await provider.send(message({ to: { email } }))).kind);
    }
    expect(outcomes).toEqual(['permanent', 'sent', 'transient', 'sent']);
    const received = await sink.waitFor(2);
    expect(received.map((m) => m.envelope.to[0])).toEqual(['ok@example.com', 'ok2@example.com']);
  });

  it('sends 200 messages concurrently over at most poolSize connections, all arriving', async () => {
    const msgs = Array.from({ length: 200 }, (_, i) => message({ to: { email: `user${i}@example.com` } }));
    const outcomes = await Promise.all(msgs.map((m) => provider.send(m)));
    expect(outcomes.every((o) => o.kind === 'sent')).toBe(true);

    const received = await sink.waitFor(200);
    expect(new Set(received.map((m) => m.messageId))).toEqual(new Set(msgs.map((m) => m.messageId)));
    const ids = outcomes.map((o) => (o.kind === 'sent' ? o.providerMessageId : ''));
    expect(new Set(ids)).toEqual(new Set(received.map((m) => m.id)));
    expect(sessions.size).toBeGreaterThan(1);
    expect(sessions.size).toBeLessThanOrEqual(5);
  });

  it('logs in when a user is configured (the capture server accepts any credentials)', async () => {
    const authed = new SmtpProvider(smtpConfig(sink.port, { user: 'relay-user', password: 'secret' }));
    try {
      const outcome = await authed.send(message());
      expect(outcome.kind).toBe('sent');
      await sink.waitFor(1);
    } finally {
      await authed.close();
    }
  });
});

describe('SmtpProvider failures without a working server', () => {
  it('a closed port is the relay being unavailable (a connection error)', async () => {
    const server = new CaptureSmtpServer();
    const { port } = await server.start();
    await server.stop();
    const provider = new SmtpProvider(smtpConfig(port));
    try {
      const outcome = await provider.send(message());
      expect(outcome).toMatchObject({ kind: 'unavailable', code: 'ESOCKET' });
      expect(outcome.kind !== 'sent' && outcome.error).toMatch(/ECONNREFUSED/);
    } finally {
      await provider.close();
    }
  });

  it('a server slower than timeoutMs is the relay being unavailable (a timeout)', async () => {
    const server = new CaptureSmtpServer({ latencyMs: 1500 });
    const { port } = await server.start();
    const provider = new SmtpProvider(smtpConfig(port, { timeoutMs: 300 }));
    try {
      const outcome = await provider.send(message());
      expect(outcome).toMatchObject({ kind: 'unavailable', code: 'ETIMEDOUT' });
    } finally {
      await provider.close();
      await server.stop();
    }
  });

  it('close() is safe twice and later sends fail as unavailable instead of throwing', async () => {
    const server = new CaptureSmtpServer();
    const { port } = await server.start();
    const provider = new SmtpProvider(smtpConfig(port));
    try {
      expect((await provider.send(message())).kind).toBe('sent');
      await provider.close();
      await provider.close();
      const after = await provider.send(message());
      expect(after.kind).toBe('unavailable');
      expect(server.messages()).toHaveLength(1);
    } finally {
      await server.stop();
    }
  });
});

describe('parseQueueId', () => {
  it.each([
    ['250 2.0.0 Ok: queued as ABC123', 'ABC123'],
    ['250 Ok: queued as 4F2A9C01BD33E7AA', '4F2A9C01BD33E7AA'],
    ['250 OK id=1abc23-000Xyz-4Q', '1abc23-000Xyz-4Q'],
    ['250 2.0.0 OK id=1tQx7M-0004Ab-2P; done', '1tQx7M-0004Ab-2P'],
    ['250 Message queued as <20240101.abc@relay>', '20240101.abc@relay'],
  ])('%s → %s', (response, id) => {
    expect(parseQueueId(response)).toBe(id);
  });

  it.each(['250 OK', '250 2.0.0 Message accepted for delivery', '', undefined])(
    '%s → undefined',
    (response) => {
      expect(parseQueueId(response)).toBeUndefined();
    },
  );
});

// The registry's only non-trivial built-in is the SMTP provider, so its tests live here.
describe('createProviderRegistry', () => {
  const stub = (name: string): EmailProvider => ({
    name,
    send: async () => ({ kind: 'sent', providerMessageId: `${name}-1` }),
    close: vi.fn(async () => {}),
  });

  it('registers smtp and mock, creates each once on first get', async () => {
    const registry = createProviderRegistry({ defaultProvider: 'smtp', smtp: smtpConfig(1) });
    expect(registry.defaultName).toBe('smtp');
    expect(registry.names()).toEqual(['smtp', 'mock']);
    const smtp = registry.get('smtp');
    expect(smtp).toBeInstanceOf(SmtpProvider);
    expect(registry.get('smtp')).toBe(smtp);
    expect(registry.get('mock')).toBeInstanceOf(MockProvider);
    expect(registry.get('nope')).toBeUndefined();
    await registry.closeAll();
  });

  it('extra providers are added or replace a built-in by name', async () => {
    const http = stub('http-x');
    const mock = stub('mock');
    const registry = createProviderRegistry({
      defaultProvider: 'http-x',
      smtp: smtpConfig(1),
      extra: [http, mock],
    });
    expect(registry.names()).toEqual(['smtp', 'mock', 'http-x']);
    expect(registry.get('http-x')).toBe(http);
    expect(registry.get('mock')).toBe(mock);
    await registry.closeAll();
    await registry.closeAll();
    expect(http.close).toHaveBeenCalledTimes(1);
    expect(mock.close).toHaveBeenCalledTimes(1);
  });

  it('throws when the default provider is not registered', () => {
    expect(() => createProviderRegistry({ defaultProvider: 'sendgrid', smtp: smtpConfig(1) })).toThrow(
      /"sendgrid" is not registered/,
    );
  });

  it('closeAll closes created providers only and reports failures after trying all', async () => {
    const failing = stub('failing');
    vi.mocked(failing.close).mockRejectedValueOnce(new Error('stuck'));
    const other = stub('other');
    const registry = createProviderRegistry({
      defaultProvider: 'mock',
      smtp: smtpConfig(1),
      extra: [failing, other],
    });
    await expect(registry.closeAll()).rejects.toThrow(AggregateError);
    expect(other.close).toHaveBeenCalledTimes(1);
  });
});
