import { lookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';

/**
 * HTTP POSTs to URLs that someone else chose (tenant webhook endpoints), safe against SSRF.
 *
 * The address check happens where the socket connects (request-filtering-agent validates the
 * address the DNS look-up returned for this very connection), so a name that resolves to a
 * public address when the URL is saved and to 127.0.0.1 at send time (DNS rebinding) is refused.
 * Only unicast addresses pass: loopback, private, link-local (169.254.169.254, the cloud metadata
 * service), carrier-grade NAT, multicast, reserved and unspecified addresses are refused.
 * `allowPrivate` lifts all of this (development and tests only).
 */
export interface OutboundPost {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  /** Bytes of the response body kept; the rest is discarded. */
  maxResponseBytes: number;
}

export type OutboundResult =
  | { kind: 'response'; status: number; body: string; latencyMs: number }
  | { kind: 'error'; error: string; refused: boolean; timeout: boolean; latencyMs: number };

/** Whether an address may be connected to: unicast only (not private, loopback, link-local…). */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) {
    ip = (ip as ipaddr.IPv6).toIPv4Address();
  }
  return ip.range() === 'unicast';
}

/**
 * Why a URL may not be used as a webhook endpoint, or null when it may: https only (http too
 * when private addresses are allowed), no credentials, and every address its host resolves to
 * now must be public. Checked again at every attempt by the agent; this answers early.
 */
export async function urlProblem(raw: string, allowPrivate: boolean): Promise<string | null> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:')) return 'must use https';
  if (url.username || url.password) return 'must not carry credentials';
  if (allowPrivate) return null;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0) return isPublicAddress(host) ? null : 'points to a private or reserved address';
  let addresses: { address: string }[];
  try {
    addresses = await lookup(host, { all: true, verbatim: true });
  } catch {
    return 'has a host name that does not resolve';
  }
  return addresses.every((a) => isPublicAddress(a.address))
    ? null
    : 'resolves to a private or reserved address';
}

export function createOutboundHttp(opts: { allowPrivate: boolean }) {
  const agentOptions = { allowPrivateIPAddress: opts.allowPrivate, keepAlive: true, maxSockets: 50 };
  const agents = {
    'http:': new RequestFilteringHttpAgent(agentOptions),
    'https:': new RequestFilteringHttpsAgent(agentOptions),
  };

  const post = (req: OutboundPost): Promise<OutboundResult> =>
    new Promise((resolve) => {
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      let url: URL;
      try {
        url = new URL(req.url);
      } catch {
        resolve({ kind: 'error', error: 'invalid URL', refused: true, timeout: false, latencyMs: 0 });
        return;
      }
      const protocol = url.protocol === 'https:' || url.protocol === 'http:' ? url.protocol : null;
      if (!protocol || (protocol === 'http:' && !opts.allowPrivate)) {
        resolve({ kind: 'error', error: 'only https URLs', refused: true, timeout: false, latencyMs: 0 });
        return;
      }
      let settled = false;
      const done = (r: OutboundResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
      };
      const body = Buffer.from(req.body);
      const client = protocol === 'https:' ? https : http;
      // No redirects: node's http client never follows them, and a 3xx is just a status here.
      const request = client.request(url, {
        method: 'POST',
        agent: agents[protocol],
        headers: { ...req.headers, 'content-length': String(body.length) },
      });
      const timer = setTimeout(() => {
        request.destroy();
        done({
          kind: 'error',
          error: `no response within ${req.timeoutMs} ms`,
          refused: false,
          timeout: true,
          latencyMs: elapsed(),
        });
      }, req.timeoutMs);
      request.on('error', (err) => {
        const refused = /is not allowed/.test(err.message);
        done({ kind: 'error', error: err.message, refused, timeout: false, latencyMs: elapsed() });
      });
      request.on('response', (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        const finish = () =>
          done({
            kind: 'response',
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            latencyMs: elapsed(),
          });
        res.on('data', (chunk: Buffer) => {
          if (kept >= req.maxResponseBytes) return;
          const part = chunk.subarray(0, req.maxResponseBytes - kept);
          chunks.push(part);
          kept += part.length;
          // Enough kept: stop reading a long (or endless) body.
          if (kept >= req.maxResponseBytes) {
            finish();
            res.destroy();
          }
        });
        res.on('end', finish);
        res.on('error', finish);
      });
      request.end(body);
    });

  return {
    post,
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}
export type OutboundHttp = ReturnType<typeof createOutboundHttp>;
