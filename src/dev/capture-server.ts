import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

export interface CapturedMessage {
  /** The queue id this server gave the message ("250 Ok: queued as <id>"). */
  id: string;
  envelope: { from: string; to: string[] };
  /** The message exactly as received over DATA (headers and body, CRLF line ends). */
  raw: string;
  receivedAt: Date;
}

export interface CaptureReply {
  code: number;
  message: string;
}

export interface CaptureSmtpServerOptions {
  /** Interface to listen on; default 127.0.0.1 (this server has no TLS and accepts anything). */
  host?: string;
  /** 0 = a random free port; start() reports the one chosen. */
  port?: number;
  /** When set, every message is also written there as <timestamp>-<id>.eml. */
  dir?: string | null;
  /** Messages kept in memory, oldest dropped first; default 1000. */
  keep?: number;
  /**
   * Scripted answer to RCPT TO, e.g. `{ code: 451, message: '4.7.1 Try again later' }` or a 550
   * for one recipient. Return undefined to accept the recipient.
   */
  reply?: (rcpt: string, session: SMTPServerSession) => CaptureReply | undefined;
  /** Delay before answering the end of DATA, to imitate a slow relay. */
  latencyMs?: number;
  logger?: { info(obj: object, msg?: string): void; warn?(obj: object, msg?: string): void };
}

interface CaptureEvents {
  message: [CapturedMessage];
}

const DEFAULT_KEEP = 1000;
const MAX_MESSAGE_BYTES = 25 * 1024 * 1024;
/** How long stop() lets open sessions finish before the server drops them. */
const CLOSE_GRACE_MS = 1000;

/**
 * A real SMTP server that accepts every message and keeps it: the local mail catcher of
 * `npm start` when no relay is configured, and the SMTP server of the test suites.
 * Plain SMTP on loopback only — no STARTTLS; AUTH is optional and any credentials pass, so a
 * client configured with a user name still delivers here.
 */
export class CaptureSmtpServer extends EventEmitter<CaptureEvents> {
  readonly #options: CaptureSmtpServerOptions;
  readonly #keep: number;
  #server: SMTPServer | undefined;
  #messages: CapturedMessage[] = [];
  /** Counted since the last clear(), independently of `keep`, so waitFor() works past it. */
  #received = 0;
  /** Delay before answering the end of DATA; may be changed while the server runs. */
  latencyMs: number;

  constructor(options: CaptureSmtpServerOptions = {}) {
    super();
    this.#options = options;
    this.#keep = Math.max(0, options.keep ?? DEFAULT_KEEP);
    this.latencyMs = options.latencyMs ?? 0;
  }

  async start(): Promise<{ port: number }> {
    if (this.#server) throw new Error('CaptureSmtpServer is already started');
    const { dir, host = '127.0.0.1', port = 0 } = this.#options;
    if (dir) await mkdir(dir, { recursive: true });

    const server = new SMTPServer({
      authOptional: true,
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      size: MAX_MESSAGE_BYTES,
      rejectOversized: true,
      disableReverseLookup: true,
      closeTimeout: CLOSE_GRACE_MS,
      logger: false,
      onAuth: (auth, _session, callback) => callback(null, { user: auth.username ?? 'anonymous' }),
      onRcptTo: (address, session, callback) => {
        const scripted = this.#options.reply?.(address.address, session);
        if (scripted && scripted.code >= 400) {
          callback(Object.assign(new Error(scripted.message), { responseCode: scripted.code }));
          return;
        }
        callback();
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('error', (err: Error) => callback(err));
        stream.on('end', () => {
          if (stream.sizeExceeded) {
            callback(Object.assign(new Error('Message exceeds the size limit'), { responseCode: 552 }));
            return;
          }
          const bytes = Buffer.concat(chunks);
          const mailFrom = session.envelope.mailFrom;
          const msg: CapturedMessage = {
            id: randomBytes(8).toString('hex').toUpperCase(),
            envelope: {
              from: mailFrom ? mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
            },
            raw: bytes.toString('utf8'),
            receivedAt: new Date(),
          };
          this.#accept(msg, bytes).then(
            () => callback(null, `Ok: queued as ${msg.id}`),
            (err: unknown) => {
              this.#options.logger?.warn?.(
                { err: err instanceof Error ? err.message : String(err), id: msg.id },
                'capture: could not store message',
              );
              callback(Object.assign(new Error('Local error in processing'), { responseCode: 451 }));
            },
          );
        });
      },
    });
    // smtp-server reports client misbehaviour (resets, bad TLS) as server errors; for a catcher
    // they are noise, and an unhandled 'error' event would kill the process.
    server.on('error', (err: Error) =>
      this.#options.logger?.info({ err: err.message }, 'capture: smtp error'),
    );

    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.server.once('error', onError);
      server.listen(port, host, () => {
        server.server.off('error', onError);
        resolve();
      });
    });
    this.#server = server;
    const actualPort = (server.server.address() as AddressInfo).port;
    this.#options.logger?.info({ host, port: actualPort, dir: dir ?? null }, 'capture SMTP server listening');
    return { port: actualPort };
  }

  /** Stops listening at once; open sessions get a short grace period to finish. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The port being listened on, or undefined when stopped. */
  get port(): number | undefined {
    const address = this.#server?.server.address();
    return address && typeof address === 'object' ? address.port : undefined;
  }

  messages(): CapturedMessage[] {
    return [...this.#messages];
  }

  clear(): void {
    this.#messages = [];
    this.#received = 0;
  }

  /** Resolves with the kept messages once at least `count` have arrived since the last clear(). */
  waitFor(count: number, timeoutMs = 10_000): Promise<CapturedMessage[]> {
    if (this.#received >= count) return Promise.resolve(this.messages());
    return new Promise((resolve, reject) => {
      const onMessage = () => {
        if (this.#received < count) return;
        clearTimeout(timer);
        this.off('message', onMessage);
        resolve(this.messages());
      };
      const timer = setTimeout(() => {
        this.off('message', onMessage);
        reject(
          new Error(
            `Timed out after ${timeoutMs} ms waiting for ${count} message(s); ${this.#received} arrived`,
          ),
        );
      }, timeoutMs);
      this.on('message', onMessage);
    });
  }

  async #accept(msg: CapturedMessage, bytes: Buffer): Promise<void> {
    const { dir } = this.#options;
    const latencyMs = this.latencyMs;
    // Written before the 250 so that "accepted" means "stored", as it would for a real relay.
    if (dir) {
      const stamp = msg.receivedAt.toISOString().replace(/[:.]/g, '-');
      await writeFile(join(dir, `${stamp}-${msg.id}.eml`), bytes);
    }
    if (latencyMs) await new Promise((r) => setTimeout(r, latencyMs));
    if (this.#keep > 0) {
      this.#messages.push(msg);
      if (this.#messages.length > this.#keep) this.#messages.splice(0, this.#messages.length - this.#keep);
    }
    this.#received++;
    this.#options.logger?.info(
      { id: msg.id, from: msg.envelope.from, to: msg.envelope.to, bytes: bytes.length },
      'captured message',
    );
    this.emit('message', msg);
  }
}
