import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedWebhook {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: { type: string; created_at: string; data: Record<string, any> };
}

/** The payload of a received webhook once its Standard Webhooks signature checks out with `secret`; throws otherwise. */
export const verifySignature = (secret: string, r: Pick<ReceivedWebhook, 'body' | 'headers'>) =>
  new Webhook(secret).verify(r.body, {
    'webhook-id': String(r.headers['webhook-id']),
    'webhook-timestamp': String(r.headers['webhook-timestamp']),
    'webhook-signature': String(r.headers['webhook-signature']),
  });

/**
 * A real HTTP server on loopback that receives tenant webhooks. `plans[path]` answers requests to
 * that path in turn (a status, or 'hang' for no answer); once it is used up they get 200.
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  readonly plans: Record<string, (number | 'hang')[]> = {};
  /** How long every answer waits (a slow receiver). */
  delayMs = 0;
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<WebhookReceiver> {
    let self: WebhookReceiver | null = null;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const path = req.url ?? '/';
        self?.received.push({ path, headers: req.headers, body, json: JSON.parse(body) });
        const next = self?.plans[path]?.shift() ?? 200;
        if (next === 'hang') return; // the sender times out and closes the socket
        setTimeout(() => {
          if (!res.destroyed)
            res.writeHead(next, { 'content-type': 'text/plain' }).end(next >= 300 ? 'not today' : 'ok');
        }, self?.delayMs ?? 0);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    self = new WebhookReceiver(server, (server.address() as AddressInfo).port);
    return self;
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  at(path: string): ReceivedWebhook[] {
    return this.received.filter((r) => r.path === path);
  }

  async close() {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
