import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailsRepository } from '../../src/db/emails.repository.js';
import { unsubscribeRepository } from '../../src/db/unsubscribe.repository.js';
import { newId } from '../../src/lib/ids.js';
import { unsubscribeService } from '../../src/services/unsubscribe.service.js';
import {
  codeOf,
  insertEmail,
  type ServiceDb,
  seedTenant,
  serviceDb,
  type TenantSeed,
} from '../support/services.js';

const BASE = 'https://mail.example.com';
const MAILTO = 'unsubscribe@mail.example.com';

/** One-click unsubscribe (RFC 8058): the headers an email carries, and what its link does. */
describe('unsubscribe service', () => {
  let s: ServiceDb;
  let mine: TenantSeed;
  let theirs: TenantSeed;
  const secret = randomBytes(32);
  let unsubscribe: ReturnType<typeof unsubscribeService>;

  beforeAll(async () => {
    s = await serviceDb();
    mine = await seedTenant(s.db);
    theirs = await seedTenant(s.db);
    unsubscribe = unsubscribeService({
      repo: unsubscribeRepository(s.db),
      secret: async () => secret,
      publicBaseUrl: BASE,
      mailto: MAILTO,
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  /** An email of `seed` as delivery sees it (with List-Unsubscribe asked for), and its link's token. */
  const emailWithLink = async (seed: TenantSeed) => {
    const id = await insertEmail(emailsRepository(s.db), seed, { listUnsubscribe: true });
    const [row] = await s.sql<{ recipient_email: string }>(
      'SELECT recipient_email FROM emails WHERE id = $1',
      [id],
    );
    const email = {
      id,
      tenant_id: seed.tenantId,
      recipient_email: row?.recipient_email ?? '',
      bulk_job_id: null,
      list_unsubscribe: true,
    };
    const headers = await unsubscribe.headersFor(email);
    const token =
      new RegExp(`<${BASE}/unsubscribe/([^>]+)>`).exec(headers['List-Unsubscribe'] ?? '')?.[1] ?? '';
    return { ...email, headers, token };
  };
  const suppressed = (tenantId: string, email: string) =>
    s.sql<{ reason: string; source: Record<string, unknown> }>(
      'SELECT reason, source FROM suppressions WHERE tenant_id = $1 AND email = $2',
      [tenantId, email],
    );
  const unsubscribedEvents = (emailId: string) =>
    s.sql<{ data: Record<string, unknown> }>(
      "SELECT data FROM email_events WHERE email_id = $1 AND type = 'unsubscribed'",
      [emailId],
    );

  it('gives bulk mail and mail that asks for it a one-click link and a mailto, and other mail nothing', async () => {
    const e = await emailWithLink(mine);
    expect(e.token).not.toBe('');
    expect(e.headers).toEqual({
      'List-Unsubscribe': `<${BASE}/unsubscribe/${e.token}>, <mailto:${MAILTO}?subject=unsubscribe%20${e.token}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    });
    expect(
      await unsubscribe.headersFor({ ...e, list_unsubscribe: false, bulk_job_id: newId() }),
    ).toMatchObject({
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    });
    expect(await unsubscribe.headersFor({ ...e, list_unsubscribe: false, bulk_job_id: null })).toEqual({});
  });

  it('shows the address a link unsubscribes without acting, then suppresses it once with one event', async () => {
    const e = await emailWithLink(mine);
    expect(await unsubscribe.inspect(e.token)).toEqual({ email: e.recipient_email });
    expect(await suppressed(mine.tenantId, e.recipient_email)).toEqual([]);

    expect(await unsubscribe.unsubscribe(e.token)).toEqual({ email: e.recipient_email, already: false });
    expect(await suppressed(mine.tenantId, e.recipient_email)).toEqual([
      { reason: 'unsubscribe', source: { via: 'list-unsubscribe', email_id: e.id } },
    ]);
    expect(await unsubscribedEvents(e.id)).toEqual([{ data: { email: e.recipient_email } }]);

    // Mail clients and scanners follow the link again: nothing more is written.
    expect(await unsubscribe.unsubscribe(e.token)).toEqual({ email: e.recipient_email, already: true });
    expect(await suppressed(mine.tenantId, e.recipient_email)).toHaveLength(1);
    expect(await unsubscribedEvents(e.id)).toHaveLength(1);
    // The suppression is the token's tenant's only.
    expect(await suppressed(theirs.tenantId, e.recipient_email)).toEqual([]);
  });

  it('refuses forged, altered and foreign tokens, and stores nothing', async () => {
    const e = await emailWithLink(mine);
    const [version, payload, mac] = e.token.split('.') as [string, string, string];
    const otherSecret = unsubscribeService({
      repo: unsubscribeRepository(s.db),
      secret: async () => randomBytes(32),
      publicBaseUrl: BASE,
      mailto: null,
    });
    const foreign = await otherSecret.tokenFor({
      tenantId: mine.tenantId,
      email: e.recipient_email,
      emailId: e.id,
    });
    const otherClaims = Buffer.from(JSON.stringify([theirs.tenantId, e.recipient_email, e.id])).toString(
      'base64url',
    );
    for (const token of [
      foreign,
      `${version}.${otherClaims}.${mac}`,
      `${version}.${payload}.${Buffer.alloc(32).toString('base64url')}`,
      `v2.${payload}.${mac}`,
      `${version}.${payload}`,
      `${e.token}.x`,
      'garbage',
      '',
    ]) {
      expect(await codeOf(unsubscribe.inspect(token)), token).toBe('invalid_token');
      expect(await codeOf(unsubscribe.unsubscribe(token)), token).toBe('invalid_token');
    }
    expect(await s.sql('SELECT email FROM suppressions WHERE email = $1', [e.recipient_email])).toEqual([]);
    expect(await unsubscribedEvents(e.id)).toEqual([]);
  });

  it("answers not found for a tenant that is gone, and never writes an event on another tenant's email", async () => {
    const gone = await unsubscribe.tokenFor({
      tenantId: 'no_such_tenant',
      email: 'ann@example.com',
      emailId: null,
    });
    expect(await codeOf(unsubscribe.unsubscribe(gone))).toBe('not_found');
    expect(await s.sql("SELECT email FROM suppressions WHERE tenant_id = 'no_such_tenant'")).toEqual([]);

    // A token of my tenant naming their email (ids are not secrets) suppresses for me only.
    const theirEmail = await emailWithLink(theirs);
    const crossed = await unsubscribe.tokenFor({
      tenantId: mine.tenantId,
      email: theirEmail.recipient_email,
      emailId: theirEmail.id,
    });
    expect((await unsubscribe.unsubscribe(crossed)).already).toBe(false);
    expect(await suppressed(mine.tenantId, theirEmail.recipient_email)).toHaveLength(1);
    expect(await suppressed(theirs.tenantId, theirEmail.recipient_email)).toEqual([]);
    expect(await unsubscribedEvents(theirEmail.id)).toEqual([]);
  });
});
