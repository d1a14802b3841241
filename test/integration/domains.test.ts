import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { dkimVerify } from 'mailauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTxtResolver } from '../../src/lib/dns.js';
import { createLogger } from '../../src/lib/logger.js';
import { open } from '../../src/lib/secret-box.js';
import { type DnsZone, startDnsServer } from '../support/dns-server.js';
import {
  type ApiResponse,
  eventually,
  type Harness,
  type RequestOptions,
  startHarness,
} from '../support/harness.js';
import type { ParsedCapture } from '../support/smtp.js';

interface DnsRecord {
  purpose: string;
  name: string;
  value: string;
  required: boolean;
  selector: string | null;
  key_state: string | null;
  found: string[] | null;
  verified: boolean;
  error: string | null;
}

describe('sending domains: DNS records, verification, DKIM signing', () => {
  const secretsKey = randomBytes(32);
  const logLines: string[] = [];
  const responses: string[] = [];
  let dns: DnsZone;
  let h: Harness;
  let a: { id: string; key: string };
  let b: { id: string; key: string };
  let templateA: string;
  let templateB: string;

  beforeAll(async () => {
    dns = await startDnsServer();
    const sink = new Writable({
      write(chunk, _enc, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    h = await startHarness({
      env: {
        DNS_SERVERS: dns.address,
        DNS_TIMEOUT_MS: '1000',
        SECRETS_KEY: secretsKey.toString('base64'),
        SPF_INCLUDE: 'spf.relay.example,192.0.2.10',
        DOMAIN_CHECK_INTERVAL_SECONDS: '0.2',
        SMTP_FROM: 'Mailsystem <no-reply@mailsystem.test>',
      },
      logger: createLogger('trace', { destination: sink }),
    });
    a = await h.createTenant('Acme');
    b = await h.createTenant('Other');
    templateA = await h.createTemplate(a.key);
    templateB = await h.createTemplate(b.key);
  });
  afterAll(async () => {
    await h?.close();
    await dns?.close();
  });

  /** Every API answer is kept, to prove afterwards that no private key was ever in one. */
  const call = async <T = any>(
    method: string,
    url: string,
    opts: RequestOptions = {},
  ): Promise<ApiResponse<T>> => {
    const r = await h.request<T>(method, url, opts);
    responses.push(r.raw);
    return r;
  };
  const dkimOf = (d: { records: DnsRecord[] }, state = 'active') =>
    d.records.find((r) => r.purpose === 'dkim' && r.key_state === state) as DnsRecord;
  /** Publishes what the API asked for (as a tenant does at its DNS host). */
  const publish = (d: { records: DnsRecord[] }, purposes = ['dkim', 'spf', 'dmarc']) => {
    for (const r of d.records.filter((x) => purposes.includes(x.purpose))) dns.setTxt(r.name, [r.value]);
  };
  const addDomain = async (key: string, name: string, extra: Record<string, unknown> = {}) => {
    const r = await call('POST', '/domains', { key, body: { name, ...extra } });
    expect(r.status, r.raw).toBe(201);
    return r.body;
  };
  const verifiedDomain = async (key: string, name: string) => {
    const d = await addDomain(key, name);
    publish(d);
    const v = await call('POST', `/domains/${d.id}/verify`, { key });
    expect(v.body.status).toBe('verified');
    return v.body;
  };
  const emailCount = async (tenantId: string) =>
    Number((await h.sql('SELECT count(*)::int AS n FROM emails WHERE tenant_id = $1', [tenantId]))[0].n);
  /** Sends one email and returns it as the SMTP server received it. */
  const sendAndReceive = async (body: Record<string, unknown>, key = a.key, template = templateA) => {
    const to = `r-${randomBytes(4).toString('hex')}@example.com`;
    const r = await call('POST', '/send', {
      key,
      body: { recipient: { email: to }, template_id: template, variables: { name: 'N' }, ...body },
    });
    expect(r.status, r.raw).toBe(202);
    return eventually(async () => (await h.sink.messages()).find((m) => m.envelope.to.includes(to)));
  };
  /** mailauth's DKIM verdict, looking keys up in the test's DNS server only. */
  const verifyDkim = async (msg: ParsedCapture) => {
    const resolver = createTxtResolver({ servers: [dns.address], timeoutMs: 1000, tries: 1 });
    const result = await dkimVerify(Buffer.from(msg.raw), {
      resolver: async (name: string, rrtype: string) => {
        if (rrtype !== 'TXT') throw Object.assign(new Error('no such record'), { code: 'ENOTFOUND' });
        return resolver.resolveTxt(name);
      },
    });
    return result.results;
  };

  it('adds a domain and answers the records to publish: a 2048-bit DKIM key, SPF and DMARC', async () => {
    const d = await addDomain(a.key, 'Records.Example.', { return_path: 'bounces' });
    expect(d).toMatchObject({ name: 'records.example', status: 'pending', can_send: false });
    const dkim = dkimOf(d);
    expect(dkim.name).toBe(`${d.dkim_selector}._domainkey.records.example`);
    expect(dkim).toMatchObject({ required: true, verified: false, found: null });
    const p = /^v=DKIM1; k=rsa; p=([A-Za-z0-9+/=]+)$/.exec(dkim.value)?.[1] as string;
    const publicKey = createPublicKey({ key: Buffer.from(p, 'base64'), format: 'der', type: 'spki' });
    expect(publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const byPurpose = Object.fromEntries(d.records.map((r: DnsRecord) => [r.purpose, r]));
    expect(byPurpose.spf).toMatchObject({
      name: 'records.example',
      value: 'v=spf1 include:spf.relay.example ip4:192.0.2.10 ~all',
      required: false,
    });
    expect(byPurpose.dmarc).toMatchObject({ name: '_dmarc.records.example', required: false });
    expect(byPurpose.dmarc.value).toMatch(/^v=DMARC1; p=none;/);
    expect(byPurpose.return_path).toMatchObject({
      name: 'bounces.records.example',
      value: byPurpose.spf.value,
    });

    const again = await call('POST', '/domains', { key: a.key, body: { name: 'records.example' } });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('domain_exists');
    for (const name of ['not a domain', 'localhost', '192.0.2.1', 'a@b.example', '-x.example', '']) {
      const bad = await call('POST', '/domains', { key: a.key, body: { name } });
      expect(bad.status, name).toBe(400);
    }
    const list = await call('GET', '/domains?limit=1', { key: a.key });
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0].id).toBe(d.id);
  });

  it('fails verification before the records are served and succeeds once they are', async () => {
    const d = await addDomain(a.key, 'verify.example');
    const before = await call('POST', `/domains/${d.id}/verify`, { key: a.key });
    expect(before.status).toBe(200);
    expect(before.body.status).toBe('pending');
    expect(before.body.can_send).toBe(false);
    expect(dkimOf(before.body)).toMatchObject({ verified: false, found: [] });
    expect(dkimOf(before.body).error).toContain('NXDOMAIN');
    expect(before.body.status_reason).toContain(dkimOf(d).name);

    // Looking at the domain (a console polling it) checks DNS without pushing the next
    // background check further out.
    const schedule = async () =>
      (await h.sql('SELECT check_failures, next_check_at FROM domains WHERE id = $1', [d.id]))[0];
    const scheduled = await schedule();
    await h.sql("UPDATE domains SET checked_at = now() - interval '1 minute' WHERE id = $1", [d.id]);
    const looked = await call('GET', `/domains/${d.id}`, { key: a.key });
    expect(looked.body.status).toBe('pending');
    expect(new Date(looked.body.checked_at).getTime()).toBeGreaterThan(Date.now() - 30_000);
    expect(await schedule()).toEqual(scheduled);

    // Another key at the selector is not this domain's.
    dns.setTxt(dkimOf(d).name, ['v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwrong']);
    const wrong = await call('POST', `/domains/${d.id}/verify`, { key: a.key });
    expect(wrong.body.status).toBe('pending');
    expect(dkimOf(wrong.body).error).toContain('another key');

    publish(d);
    const after = await call('POST', `/domains/${d.id}/verify`, { key: a.key });
    expect(after.body).toMatchObject({ status: 'verified', can_send: true, status_reason: null });
    for (const r of after.body.records as DnsRecord[]) expect(r.verified, r.purpose).toBe(true);
    expect(dkimOf(after.body).found).toEqual([dkimOf(d).value]);

    const shown = await call('GET', `/domains/${d.id}`, { key: a.key });
    expect(shown.body.status).toBe('verified');
  });

  it('signs mail from a verified domain (and its subdomains) so that mailauth verifies it as pass', async () => {
    const d = await verifiedDomain(a.key, 'signed.example');
    const msg = await sendAndReceive({
      from: 'Billing <billing@signed.example>',
      reply_to: { email: 'help@elsewhere.example', name: 'Help desk' },
    });
    expect(msg.from).toEqual({ name: 'Billing', address: 'billing@signed.example' });
    const shown = await call(
      'GET',
      `/emails/${(await h.sql('SELECT id FROM emails WHERE recipient_email = $1', [msg.envelope.to[0]]))[0].id}`,
      { key: a.key },
    );
    expect(shown.body).toMatchObject({
      from: { email: 'billing@signed.example', name: 'Billing' },
      reply_to: { email: 'help@elsewhere.example', name: 'Help desk' },
    });
    expect(msg.envelope.from).toBe('billing@signed.example');
    expect(msg.raw).toMatch(/^Reply-To: "?Help desk"? <help@elsewhere\.example>/m);
    const [result] = await verifyDkim(msg);
    expect(result?.status.result).toBe('pass');
    expect(result?.signingDomain).toBe('signed.example');
    expect(result?.selector).toBe(d.dkim_selector);

    // A subdomain of a verified domain aligns with it (relaxed) and is signed for the parent.
    const sub = await sendAndReceive({ from: { email: 'news@mail.signed.example', name: 'News' } });
    const [subResult] = await verifyDkim(sub);
    expect(subResult?.status.result).toBe('pass');
    expect(subResult?.signingDomain).toBe('signed.example');

    // Bulk mail carries List-Unsubscribe, and the signature covers it.
    const to = `bulk-${randomBytes(3).toString('hex')}@example.com`;
    const bulk = await call('POST', '/send/bulk', {
      key: a.key,
      body: {
        template_id: templateA,
        from: 'News <news@signed.example>',
        recipients: [{ email: to, variables: { name: 'B' } }],
      },
    });
    expect(bulk.status, bulk.raw).toBe(202);
    const bulkMsg = await eventually(async () =>
      (await h.sink.messages()).find((m) => m.envelope.to.includes(to)),
    );
    const [bulkResult] = await verifyDkim(bulkMsg);
    expect(bulkResult?.status.result).toBe('pass');
    const signed = /^DKIM-Signature:[\s\S]*?\bh=([^;]+);/m.exec(bulkMsg.raw.replace(/\r\n[ \t]+/g, ' '))?.[1];
    expect(signed?.toLowerCase().split(':')).toEqual(
      expect.arrayContaining([
        'from',
        'to',
        'subject',
        'date',
        'message-id',
        'list-unsubscribe',
        'list-unsubscribe-post',
      ]),
    );

    // A body changed in transit no longer passes: the signature is real.
    const tampered = { ...msg, raw: msg.raw.replace('Hello', 'Hullo') };
    const [bad] = await verifyDkim(tampered);
    // mailauth reports a body hash mismatch as "neutral" (RFC 6376 §6.3: the signature is not
    // broken, the body is not what was signed); either way it does not pass.
    expect(bad?.status.result).toMatch(/^(fail|neutral)$/);
    expect(bad?.status.comment ?? '').toMatch(/body hash/i);
  });

  it("refuses a from on an unverified, unknown or other tenant's domain with a 422 and stores nothing", async () => {
    await verifiedDomain(a.key, 'owned-by-a.example');
    await addDomain(b.key, 'pending-b.example');
    const before = await emailCount(b.id);
    const bulkBefore = (
      await h.sql('SELECT count(*)::int AS n FROM bulk_jobs WHERE tenant_id = $1', [b.id])
    )[0].n;
    for (const from of ['x@owned-by-a.example', 'x@pending-b.example', 'Who <x@unknown.example>']) {
      const r = await call('POST', '/send', {
        key: b.key,
        body: {
          recipient: { email: 'r@example.com' },
          template_id: templateB,
          variables: { name: 'N' },
          from,
        },
      });
      expect(r.status, from).toBe(422);
      expect(r.body.error.code).toBe('sender_not_verified');
      expect(r.body.error.details.field).toBe('from');
      const bulk = await call('POST', '/send/bulk', {
        key: b.key,
        body: {
          template_id: templateB,
          from,
          recipients: [{ email: 'r@example.com', variables: { name: 'N' } }],
        },
      });
      expect(bulk.status, from).toBe(422);
    }
    const pending = await call('POST', '/send', {
      key: b.key,
      body: {
        recipient: { email: 'r@example.com' },
        template_id: templateB,
        variables: { name: 'N' },
        from: 'x@pending-b.example',
      },
    });
    expect(pending.body.error.message).toContain('pending');
    // Header tricks are refused like every header value (400, naming the field).
    for (const from of [
      'Evil\r\nBcc: victim@example.com <x@owned-by-a.example>',
      '=?utf-8?q?ceo=40bank=2Eexample?= <x@owned-by-a.example>',
      { email: 'x@owned-by-a.example', name: 'A "quoted" <name>' },
      'not an address',
    ]) {
      const r = await call('POST', '/send', {
        key: a.key,
        body: {
          recipient: { email: 'r@example.com' },
          template_id: templateA,
          variables: { name: 'N' },
          from,
        },
      });
      expect(r.status, JSON.stringify(from)).toBe(400);
      expect(r.body.error.details[0].field).toBe('from');
    }
    const tpl = await call('POST', '/templates', {
      key: b.key,
      body: { name: 't', subject_template: 's', html_template: 'h', from: 'x@pending-b.example' },
    });
    expect(tpl.status).toBe(422);
    expect(await emailCount(b.id)).toBe(before);
    expect((await h.sql('SELECT count(*)::int AS n FROM bulk_jobs WHERE tenant_id = $1', [b.id]))[0].n).toBe(
      bulkBefore,
    );
  });

  it('sends from SMTP_FROM, unsigned, for a tenant without domains', async () => {
    const c = await h.createTenant('No domains');
    const tpl = await h.createTemplate(c.key);
    const msg = await sendAndReceive({}, c.key, tpl);
    expect(msg.from).toEqual({ name: 'Mailsystem', address: 'no-reply@mailsystem.test' });
    expect(msg.raw).not.toMatch(/^DKIM-Signature:/im);
    expect(msg.raw).not.toMatch(/^Reply-To:/im);
  });

  it('takes the sender from the request, else the template, else the tenant default, else SMTP_FROM', async () => {
    const c = await h.createTenant('Precedence');
    await verifiedDomain(c.key, 'precedence.example');
    const plain = await h.createTemplate(c.key);
    const withDefault = await call('POST', '/templates', {
      key: c.key,
      body: {
        name: 'with default',
        subject_template: 'Hi {{ name }}',
        html_template: '<p>Hello {{ name }}</p>',
        from: 'Template <template@precedence.example>',
        reply_to: 'replies@precedence.example',
      },
    });
    expect(withDefault.status, withDefault.raw).toBe(201);
    expect(withDefault.body.from).toEqual({ email: 'template@precedence.example', name: 'Template' });

    expect((await sendAndReceive({}, c.key, plain)).from?.address).toBe('no-reply@mailsystem.test');
    const fromTemplate = await sendAndReceive({}, c.key, withDefault.body.id);
    expect(fromTemplate.from?.address).toBe('template@precedence.example');
    expect(fromTemplate.raw).toMatch(/^Reply-To: replies@precedence\.example/m);
    const fromRequest = await sendAndReceive({ from: 'req@precedence.example' }, c.key, withDefault.body.id);
    expect(fromRequest.from?.address).toBe('req@precedence.example');

    const set = await call('PUT', '/sending-defaults', {
      key: c.key,
      body: { from: 'Default <default@precedence.example>', reply_to: null },
    });
    expect(set.status, set.raw).toBe(200);
    expect(set.body).toEqual({
      from: { email: 'default@precedence.example', name: 'Default' },
      reply_to: null,
    });
    expect((await sendAndReceive({}, c.key, plain)).from?.address).toBe('default@precedence.example');
    expect((await sendAndReceive({}, c.key, withDefault.body.id)).from?.address).toBe(
      'template@precedence.example',
    );
    const refused = await call('PUT', '/sending-defaults', {
      key: c.key,
      body: { from: 'x@elsewhere.example' },
    });
    expect(refused.status).toBe(422);

    // A new template version without a sender goes back to the tenant's default.
    const v2 = await call('PUT', `/templates/${withDefault.body.id}`, {
      key: c.key,
      body: { subject_template: 'Hi {{ name }}', html_template: '<p>v2 {{ name }}</p>' },
    });
    expect(v2.body.from).toBeNull();
    expect((await sendAndReceive({}, c.key, withDefault.body.id)).from?.address).toBe(
      'default@precedence.example',
    );
    const v1 = await call('GET', `/templates/${withDefault.body.id}?version=1`, { key: c.key });
    expect(v1.body.from?.email).toBe('template@precedence.example');
  });

  it('counts from and reply_to in the idempotency fingerprint', async () => {
    await verifiedDomain(a.key, 'idem.example');
    const body = (from: string) => ({
      recipient: { email: 'idem@example.com' },
      template_id: templateA,
      variables: { name: 'N' },
      idempotency_key: `idem-${randomBytes(4).toString('hex')}`,
      from,
    });
    const first = body('one@idem.example');
    expect((await call('POST', '/send', { key: a.key, body: first })).status).toBe(202);
    const same = await call('POST', '/send', { key: a.key, body: first });
    expect(same.body.idempotency_reused).toBe(true);
    const other = await call('POST', '/send', { key: a.key, body: { ...first, from: 'two@idem.example' } });
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('idempotency_key_reused');
  });

  it('rotates the DKIM key: the old selector signs until the new record verifies, then the new one', async () => {
    const d = await verifiedDomain(a.key, 'rotate.example');
    const oldSelector = d.dkim_selector;
    const rotated = await call('POST', `/domains/${d.id}/rotate-dkim`, { key: a.key });
    expect(rotated.status, rotated.raw).toBe(200);
    const next = dkimOf(rotated.body, 'pending');
    expect(next.selector).not.toBe(oldSelector);
    expect(rotated.body.pending_dkim_selector).toBe(next.selector);
    const twice = await call('POST', `/domains/${d.id}/rotate-dkim`, { key: a.key });
    expect(twice.status).toBe(409);

    const beforePublish = await sendAndReceive({ from: 'x@rotate.example' });
    const [r1] = await verifyDkim(beforePublish);
    expect(r1?.selector).toBe(oldSelector);
    expect(r1?.status.result).toBe('pass');

    const unpublished = await call('POST', `/domains/${d.id}/verify`, { key: a.key });
    expect(unpublished.body.dkim_selector).toBe(oldSelector);
    expect((await sendAndReceive({ from: 'x@rotate.example' })).raw).toContain(`s=${oldSelector};`);

    dns.setTxt(next.name, [next.value]);
    const switched = await call('POST', `/domains/${d.id}/verify`, { key: a.key });
    expect(switched.body).toMatchObject({
      status: 'verified',
      dkim_selector: next.selector,
      pending_dkim_selector: null,
    });
    // The old key's record is not asked for any more: it may be removed.
    dns.remove(dkimOf(d).name);
    const afterSwitch = await sendAndReceive({ from: 'x@rotate.example' });
    const [r2] = await verifyDkim(afterSwitch);
    expect(r2?.selector).toBe(next.selector);
    expect(r2?.status.result).toBe('pass');
    const retired = await h.sql(
      'SELECT state, private_key_enc FROM domain_dkim_keys WHERE domain_id = $1 AND selector = $2',
      [d.id, oldSelector],
    );
    expect(retired[0]).toEqual({ state: 'retired', private_key_enc: null });
  });

  it('stops a domain whose DKIM record disappears, keeps it through a DNS outage, and rechecks in the background', async () => {
    const d = await verifiedDomain(a.key, 'lost.example');
    dns.failing = true;
    const outage = await call('POST', `/domains/${d.id}/verify`, { key: a.key });
    dns.failing = false;
    expect(outage.body.status).toBe('verified');
    expect(outage.body.status_reason).toContain('DNS look-up');

    // An email accepted while the domain was verified, due after it is lost, is never sent as
    // anyone else: it is retried, and dead-lettered when the record does not come back.
    const waiting = await call('POST', '/send', {
      key: a.key,
      body: {
        recipient: { email: 'waiting@example.com' },
        template_id: templateA,
        variables: { name: 'N' },
        from: 'x@lost.example',
        send_at: new Date(Date.now() + 1500).toISOString(),
      },
    });
    expect(waiting.body.status).toBe('scheduled');

    dns.remove(dkimOf(d).name);
    const lost = await call('POST', `/domains/${d.id}/verify`, { key: a.key });
    expect(lost.body).toMatchObject({ status: 'verification_lost', can_send: false });
    expect(lost.body.status_reason).toContain(dkimOf(d).name);
    const refused = await call('POST', '/send', {
      key: a.key,
      body: {
        recipient: { email: 'r@example.com' },
        template_id: templateA,
        variables: { name: 'N' },
        from: 'x@lost.example',
      },
    });
    expect(refused.status).toBe(422);
    expect(refused.body.error.message).toContain('verification_lost');

    const failed = await eventually(async () => {
      const e = await call('GET', `/emails/${waiting.body.email_id}`, { key: a.key });
      return e.body.status === 'failed' ? e.body : null;
    });
    expect(failed.last_error).toContain('no longer a verified domain');
    expect(failed.events.map((e: { type: string }) => e.type)).toContain('deferred');
    expect((await h.sink.messages()).some((m) => m.envelope.to.includes('waiting@example.com'))).toBe(false);

    // The background check (worker role) finds the record back once it is due.
    publish(d);
    await h.sql('UPDATE domains SET next_check_at = now() WHERE id = $1', [d.id]);
    await eventually(
      async () => (await h.sql('SELECT status FROM domains WHERE id = $1', [d.id]))[0].status === 'verified',
    );
    const next = (await h.sql('SELECT next_check_at FROM domains WHERE id = $1', [d.id]))[0]
      .next_check_at as Date;
    expect(next.getTime()).toBeGreaterThan(Date.now() + 23 * 3600 * 1000);

    // A pending domain found by the background check becomes usable without anyone asking.
    const p = await addDomain(a.key, 'background.example');
    publish(p);
    await h.sql('UPDATE domains SET next_check_at = now() WHERE id = $1', [p.id]);
    await eventually(
      async () => (await h.sql('SELECT status FROM domains WHERE id = $1', [p.id]))[0].status === 'verified',
    );
  });

  it("answers 404 for another tenant's domain, and deleting a domain stops mail from it", async () => {
    const d = await verifiedDomain(a.key, 'isolated.example');
    for (const [method, path] of [
      ['GET', `/domains/${d.id}`],
      ['POST', `/domains/${d.id}/verify`],
      ['POST', `/domains/${d.id}/rotate-dkim`],
      ['DELETE', `/domains/${d.id}`],
      ['GET', '/domains/not-a-uuid'],
    ] as const) {
      const r = await call(method, path, { key: b.key });
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.body.error.code).toBe('domain_not_found');
    }
    const list = await call('GET', '/domains', { key: b.key });
    expect(list.body.items.map((x: { id: string }) => x.id)).not.toContain(d.id);

    const del = await call('DELETE', `/domains/${d.id}`, { key: a.key });
    expect(del.status).toBe(204);
    const after = await call('POST', '/send', {
      key: a.key,
      body: {
        recipient: { email: 'r@example.com' },
        template_id: templateA,
        variables: { name: 'N' },
        from: 'x@isolated.example',
      },
    });
    expect(after.status).toBe(422);
    expect(
      (await h.sql('SELECT count(*)::int AS n FROM domain_dkim_keys WHERE domain_id = $1', [d.id]))[0].n,
    ).toBe(0);
  });

  it('never shows a private key in a response, a log line or a database row', async () => {
    const d = await verifiedDomain(a.key, 'secret.example');
    await sendAndReceive({ from: 'x@secret.example' });
    const row = (
      await h.sql(
        "SELECT tenant_id, domain_id, selector, private_key_enc, sealed_with FROM domain_dkim_keys WHERE domain_id = $1 AND state = 'active'",
        [d.id],
      )
    )[0];
    expect(row.sealed_with).toMatch(/^env:/);
    // The stored box opens with SECRETS_KEY, and only bound to its own row.
    const pem = open(
      secretsKey,
      row.private_key_enc,
      `dkim-private-key:${row.tenant_id}:${row.domain_id}:${row.selector}`,
    ).toString('utf8');
    expect(() =>
      open(secretsKey, row.private_key_enc, `dkim-private-key:${b.id}:${row.domain_id}:${row.selector}`),
    ).toThrow();
    const key = createPrivateKey(pem);
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const publicB64 = dkimOf(d).value.split('p=')[1] as string;
    const body = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
    const d64 = key.export({ format: 'jwk' }).d as string;
    // Lines of the PEM that are not also part of the public key (the modulus is in both).
    const secretLines = pem
      .split('\n')
      .filter((l) => l.length >= 40 && !l.includes('-----') && !publicB64.includes(l));
    expect(secretLines.length).toBeGreaterThan(10);
    const needles = [
      body,
      d64,
      Buffer.from(d64, 'base64url').toString('base64').slice(0, 60),
      ...secretLines,
      'PRIVATE KEY',
    ];

    const tables: { table_name: string }[] = await h.sql(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    );
    const dbText: string[] = [];
    for (const { table_name } of tables) {
      const rows = await h.sql(`SELECT row_to_json(t)::text AS j FROM "${table_name}" t`);
      dbText.push(...rows.map((r: { j: string }) => r.j));
    }
    const smtpText = (await h.sink.messages()).map((m) => m.raw);
    expect(logLines.length).toBeGreaterThan(0);
    for (const [what, texts] of [
      ['responses', responses],
      ['logs', logLines],
      ['database', dbText],
      ['mail', smtpText],
    ] as const) {
      const all = texts.join('\n');
      for (const needle of needles)
        expect(all.includes(needle), `${what} holds private key material`).toBe(false);
    }
  });
});
