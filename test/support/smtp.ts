import { type AddressObject, type HeaderValue, simpleParser } from 'mailparser';
import {
  type CapturedMessage,
  CaptureSmtpServer,
  type CaptureSmtpServerOptions,
} from '../../src/dev/capture-server.js';

export interface ParsedAddress {
  name: string;
  address: string;
}

export interface ParsedCapture {
  id: string;
  envelope: CapturedMessage['envelope'];
  raw: string;
  subject: string | undefined;
  html: string | undefined;
  text: string | undefined;
  messageId: string | undefined;
  to: ParsedAddress[];
  from: ParsedAddress | undefined;
  /** Decoded by mailparser, keys lower-case; custom headers are plain strings. */
  headers: Map<string, HeaderValue>;
}

export interface SmtpSink {
  server: CaptureSmtpServer;
  port: number;
  /** Received messages, parsed. */
  messages(): Promise<ParsedCapture[]>;
  /** Waits until `count` messages arrived since the last clear(), then parses them all. */
  waitFor(count: number, timeoutMs?: number): Promise<ParsedCapture[]>;
  /** How many messages each envelope recipient got, of those starting with `prefix`. */
  perRecipient(prefix?: string): Map<string, number>;
  clear(): void;
  stop(): Promise<void>;
}

/** A CaptureSmtpServer on a random loopback port, with parsing that only tests need. */
export async function startSmtpSink(opts: Omit<CaptureSmtpServerOptions, 'port'> = {}): Promise<SmtpSink> {
  const server = new CaptureSmtpServer({ ...opts, port: 0 });
  const { port } = await server.start();
  return {
    server,
    port,
    messages: () => Promise.all(server.messages().map(parseCaptured)),
    waitFor: async (count, timeoutMs) =>
      Promise.all((await server.waitFor(count, timeoutMs)).map(parseCaptured)),
    perRecipient: (prefix = '') => {
      const counts = new Map<string, number>();
      for (const m of server.messages()) {
        const to = m.envelope.to[0] as string;
        if (to.startsWith(prefix)) counts.set(to, (counts.get(to) ?? 0) + 1);
      }
      return counts;
    },
    clear: () => server.clear(),
    stop: () => server.stop(),
  };
}

export async function parseCaptured(msg: CapturedMessage): Promise<ParsedCapture> {
  const mail = await simpleParser(msg.raw);
  return {
    id: msg.id,
    envelope: msg.envelope,
    raw: msg.raw,
    subject: mail.subject,
    html: typeof mail.html === 'string' ? mail.html : undefined,
    text: mail.text,
    messageId: mail.messageId,
    to: addresses(mail.to),
    from: addresses(mail.from)[0],
    headers: mail.headers,
  };
}

function addresses(field: AddressObject | AddressObject[] | undefined): ParsedAddress[] {
  if (!field) return [];
  return (Array.isArray(field) ? field : [field]).flatMap((f) =>
    f.value.map((a) => ({ name: a.name, address: a.address ?? '' })),
  );
}
