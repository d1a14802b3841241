import { createHmac, timingSafeEqual } from 'node:crypto';
import { RewritingStream } from 'parse5-html-rewriting-stream';
import type { TrackingRepository } from '../db/tracking.repository.js';
import {
  advanceStatus,
  EMAIL_STATUSES,
  type EmailStatus,
  TERMINAL_STATUSES,
} from '../domain/email-status.js';
import { AppError } from '../domain/errors.js';
import { isUuid } from '../lib/ids.js';

/**
 * Open and click tracking (docs/tracking.md): a 1×1 pixel and rewritten links in the HTML part,
 * added at delivery time, and the public endpoints that record what they see.
 *
 * Tokens are `<payload>.<mac>`: the payload names the email (and, for a click, the original URL)
 * and the MAC is an HMAC-SHA256 with the install's tracking secret, so a click can only redirect
 * to a URL that this install put in an email (no open redirect), and a token cannot be forged
 * for another email.
 */

/** The part of a claimed email tracking needs. */
export interface TrackableEmail {
  id: string;
  tenant_id: string;
  bulk_job_id: string | null;
  track_opens?: boolean | null;
  track_clicks?: boolean | null;
}

const MAC_BYTES = 16;
/** Links whose token would not fit a path parameter (the API accepts 1024 characters) stay as they are. */
const MAX_TOKEN_LENGTH = 1000;

/** A 43-byte transparent GIF. */
export const PIXEL_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/**
 * User agents of machines that fetch images or follow links without a person: security
 * scanners and link checkers, and mail-privacy proxies that prefetch every image. A heuristic:
 * a scanner that looks like a browser is not caught, and Gmail's image proxy (which fetches when
 * the message is displayed) is counted as a person.
 */
const MACHINE_AGENTS =
  /bot\b|crawler|spider|preview|scanner|barracuda|mimecast|proofpoint|symantec|messagelabs|trendmicro|fortiguard|safelinks|curl\/|wget\/|python-requests|go-http-client|java\/|okhttp|headlesschrome|yahoomailproxy|apple.*privacy|^mozilla\/5\.0$/i;
/** A click this soon after the message was sent is a scanner following every link. */
const MACHINE_CLICK_WINDOW_MS = 2000;

/** A person's open or click makes the email `opened`, by the usual precedence. */
const OPENED_TRANSITIONS: Partial<Record<EmailStatus, EmailStatus>> = Object.fromEntries(
  EMAIL_STATUSES.filter((s) => TERMINAL_STATUSES.includes(s))
    .map((s) => [s, advanceStatus(s, 'opened')] as const)
    .filter(([from, to]) => from !== to),
);

export type TrackingHit = { kind: 'open' } | { kind: 'click'; url: string };

export function trackingService(deps: {
  repo: TrackingRepository;
  secret: () => Promise<Buffer>;
  publicBaseUrl: string;
}) {
  const base = deps.publicBaseUrl.replace(/\/+$/, '');

  const mac = (secret: Buffer, kind: 'o' | 'c', payload: string) =>
    createHmac('sha256', secret).update(`${kind}.${payload}`).digest().subarray(0, MAC_BYTES);

  const sign = (secret: Buffer, kind: 'o' | 'c', claims: unknown) => {
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${payload}.${mac(secret, kind, payload).toString('base64url')}`;
  };

  const verify = async (kind: 'o' | 'c', token: string): Promise<unknown> => {
    const [payload, given, ...rest] = token.split('.');
    if (!payload || !given || rest.length > 0) return null;
    const expected = mac(await deps.secret(), kind, payload);
    const got = Buffer.from(given, 'base64url');
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) return null;
    try {
      return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return null;
    }
  };

  const skipLink = (href: string) => {
    const lower = href.trim().toLowerCase();
    return !(lower.startsWith('http://') || lower.startsWith('https://')) || href.trim().startsWith(base);
  };

  /** The HTML with the pixel and tracked links, as `opens`/`clicks` ask. */
  const rewrite = async (emailId: string, html: string, opts: { opens: boolean; clicks: boolean }) => {
    const secret = await deps.secret();
    const pixel = `<img src="${base}/t/o/${sign(secret, 'o', [emailId])}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0" />`;
    const rw = new RewritingStream();
    let pixelAdded = false;
    rw.on('startTag', (tag, raw) => {
      const href = tag.tagName === 'a' ? tag.attrs.find((a) => a.name === 'href') : undefined;
      const optOut = tag.attrs.some((a) => a.name === 'data-track' && a.value.toLowerCase() === 'false');
      if (!opts.clicks || !href || optOut || skipLink(href.value)) return rw.emitRaw(raw);
      const token = sign(secret, 'c', [emailId, href.value.trim()]);
      if (token.length > MAX_TOKEN_LENGTH) return rw.emitRaw(raw);
      href.value = `${base}/t/c/${token}`;
      rw.emitStartTag(tag);
    });
    rw.on('endTag', (tag, raw) => {
      if (opts.opens && !pixelAdded && tag.tagName === 'body') {
        rw.emitRaw(pixel);
        pixelAdded = true;
      }
      rw.emitRaw(raw);
    });
    const chunks: string[] = [];
    rw.on('data', (c: Buffer | string) => chunks.push(String(c)));
    await new Promise<void>((resolve, reject) => {
      rw.on('end', resolve);
      rw.on('error', reject);
      rw.end(html);
    });
    if (opts.opens && !pixelAdded) chunks.push(pixel);
    return chunks.join('');
  };

  return {
    /** The delivery step: the HTML part as it is sent (the text part is never changed). */
    async transformHtml(email: TrackableEmail, html: string): Promise<string> {
      const defaults =
        email.track_opens == null || email.track_clicks == null
          ? await deps.repo.defaults(email.tenant_id, email.bulk_job_id)
          : null;
      const opens = email.track_opens ?? defaults?.opens ?? false;
      const clicks = email.track_clicks ?? defaults?.clicks ?? false;
      if ((!opens && !clicks) || html === '') return html;
      return rewrite(email.id, html, { opens, clicks });
    },

    async defaultsOf(tenantId: string): Promise<{ track_opens: boolean; track_clicks: boolean }> {
      const d = await deps.repo.defaults(tenantId, null);
      if (!d) throw new AppError('tenant_not_found');
      return { track_opens: d.opens, track_clicks: d.clicks };
    },

    async setDefaults(
      tenantId: string,
      d: { track_opens?: boolean | undefined; track_clicks?: boolean | undefined },
    ): Promise<{ track_opens: boolean; track_clicks: boolean }> {
      const patch = {
        ...(d.track_opens !== undefined ? { opens: d.track_opens } : {}),
        ...(d.track_clicks !== undefined ? { clicks: d.track_clicks } : {}),
      };
      if (!(await deps.repo.setTenantDefaults(tenantId, patch))) throw new AppError('tenant_not_found');
      return this.defaultsOf(tenantId);
    },

    /**
     * Records a pixel fetch or a click and answers where a click goes. A token that does not
     * verify is a 404, whatever it names. Machine hits are recorded, flagged, and do not move the
     * status nor count as unique.
     */
    async hit(
      kind: 'open' | 'click',
      token: string,
      req: { method: string; userAgent: string | null },
    ): Promise<TrackingHit> {
      const claims = await verify(kind === 'open' ? 'o' : 'c', token);
      const valid =
        Array.isArray(claims) &&
        typeof claims[0] === 'string' &&
        isUuid(claims[0]) &&
        (kind === 'open' ? claims.length === 1 : claims.length === 2 && typeof claims[1] === 'string');
      if (!valid) throw new AppError('tracking_token_not_found');
      const emailId = claims[0] as string;
      const url = kind === 'click' ? (claims[1] as string) : null;
      const why =
        req.method === 'HEAD'
          ? 'head_request'
          : req.userAgent === null || MACHINE_AGENTS.test(req.userAgent)
            ? 'user_agent'
            : null;
      const recorded = await deps.repo.record({
        emailId,
        type: kind === 'open' ? 'opened' : 'clicked',
        url,
        machineReason: why,
        machineClickWindowMs: kind === 'click' ? MACHINE_CLICK_WINDOW_MS : null,
        userAgent: req.userAgent,
        transitions: OPENED_TRANSITIONS,
      });
      // An email deleted since (or an id this install never sent) is not found either.
      if (!recorded) throw new AppError('tracking_token_not_found');
      return url === null ? { kind: 'open' } : { kind: 'click', url };
    },
  };
}
export type TrackingService = ReturnType<typeof trackingService>;
