import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DomainStatus, domainsRepository } from '../../src/db/domains.repository.js';
import type { Mailbox } from '../../src/domain/address.js';
import { newId } from '../../src/lib/ids.js';
import { dkimKeys } from '../../src/services/dkim-keys.js';
import { sendersService } from '../../src/services/senders.service.js';
import { codeOf, refusalOf, type ServiceDb, seedTenant, serviceDb } from '../support/services.js';

const SMTP_FROM = 'Mailsystem <noreply@relay.example>';

/** Who mail is from: checked against the tenant's verified domains at acceptance, signed at delivery. */
describe('senders service', () => {
  let s: ServiceDb;
  let mine: string;
  let theirs: string;
  const keys = dkimKeys({
    configured: randomBytes(32),
    stored: async () => {
      throw new Error('SECRETS_KEY is set: the stored key is never used');
    },
    production: true,
  });
  let senders: ReturnType<typeof sendersService>;
  /** A verified domain of mine, and one of theirs. */
  let myDomain: string;
  let theirDomain: string;

  /** A domain of the tenant with its DKIM key, in the state given (as verification leaves it). */
  const addDomain = async (tenantId: string, status: DomainStatus) => {
    const id = newId();
    const name = `d${randomBytes(4).toString('hex')}.example.com`;
    await domainsRepository(s.db).create(
      { id, tenantId, name, returnPath: null, firstCheckInSeconds: 3600 },
      await keys.generate(tenantId, id),
    );
    await s.sql('UPDATE domains SET status = $2 WHERE id = $1', [id, status]);
    return name;
  };
  const box = (email: string, name: string | null = null): Mailbox => ({ email, name });
  const storedDefaults = (tenantId: string) =>
    s.sql('SELECT from_address, reply_to FROM tenant_sending_defaults WHERE tenant_id = $1', [tenantId]);

  beforeAll(async () => {
    s = await serviceDb();
    mine = (await seedTenant(s.db)).tenantId;
    theirs = (await seedTenant(s.db)).tenantId;
    senders = sendersService({ domains: domainsRepository(s.db), keys, defaultFrom: SMTP_FROM });
    myDomain = await addDomain(mine, 'verified');
    theirDomain = await addDomain(theirs, 'verified');
  });
  afterAll(async () => {
    await s?.close();
  });

  it('accepts a from on a verified domain of the tenant or under it, and nothing else', async () => {
    const none = { from: null, reply_to: null };
    expect(await senders.forAcceptance(mine, { ...none, from: box(`news@${myDomain}`, 'News') }, {})).toEqual(
      {
        from: box(`news@${myDomain}`, 'News'),
        reply_to: null,
      },
    );
    expect(
      await senders.forAcceptance(mine, { ...none, from: box(`news@mail.${myDomain}`) }, {}),
    ).toMatchObject({ from: box(`news@mail.${myDomain}`) });
    expect(await senders.forAcceptance(mine, none, {})).toBeNull();

    const pending = await addDomain(mine, 'pending');
    expect(await refusalOf(senders.forAcceptance(mine, { ...none, from: box(`x@${pending}`) }, {}))).toEqual({
      code: 'sender_not_verified',
      details: { field: 'from', email: `x@${pending}`, domain: pending, domain_status: 'pending' },
    });
    // Another tenant's verified domain, a look-alike and a parent are not mine.
    for (const domain of [theirDomain, `x${myDomain}`, 'example.com']) {
      expect(await refusalOf(senders.forAcceptance(mine, { ...none, from: box(`x@${domain}`) }, {}))).toEqual(
        {
          code: 'sender_not_verified',
          details: { field: 'from', email: `x@${domain}`, domain, domain_status: null },
        },
      );
    }
  });

  it("takes the request's sender over the template's over the tenant's defaults, naming the field it refuses", async () => {
    const tenant = (await seedTenant(s.db)).tenantId;
    const domain = await addDomain(tenant, 'verified');
    const defaults = await senders.setDefaults(tenant, {
      from: `Team <team@${domain}>`,
      reply_to: { email: `Help@${domain}`, name: 'Help' },
    });
    expect(defaults).toEqual({
      from_address: box(`team@${domain}`, 'Team'),
      reply_to: box(`help@${domain}`, 'Help'),
    });
    const none = { from: null, reply_to: null };
    expect(await senders.forAcceptance(tenant, none, {})).toEqual({
      from: defaults.from_address,
      reply_to: defaults.reply_to,
    });
    const template = { from_address: box(`tpl@${domain}`), reply_to: null };
    expect(await senders.forAcceptance(tenant, none, template)).toEqual({
      from: template.from_address,
      reply_to: defaults.reply_to,
    });
    const given = { from: box(`req@${domain}`), reply_to: box('someone@elsewhere.example') };
    expect(await senders.forAcceptance(tenant, given, template)).toEqual(given);

    const elsewhere = { from_address: box('tpl@elsewhere.example'), reply_to: null };
    expect((await refusalOf(senders.forAcceptance(tenant, none, elsewhere)))?.details).toMatchObject({
      field: 'template.from',
    });
    // The defaults' domain lost its verification since they were set.
    await s.sql("UPDATE domains SET status = 'verification_lost' WHERE tenant_id = $1", [tenant]);
    expect(await refusalOf(senders.forAcceptance(tenant, none, {}))).toEqual({
      code: 'sender_not_verified',
      details: {
        field: 'sending_defaults.from',
        email: `team@${domain}`,
        domain,
        domain_status: 'verification_lost',
      },
    });
  });

  it("refuses defaults that are malformed or not on the tenant's verified domain, storing nothing", async () => {
    const tenant = (await seedTenant(s.db)).tenantId;
    expect(
      await refusalOf(senders.setDefaults(tenant, { from: 'not an address', reply_to: 'a\r\nb@x.com' })),
    ).toEqual({
      code: 'validation_failed',
      details: [
        { field: 'from', message: 'is not a valid email address' },
        { field: 'reply_to', message: 'must not contain CR, LF or NUL' },
      ],
    });
    expect(await codeOf(senders.setDefaults(tenant, { from: `x@${theirDomain}` }))).toBe(
      'sender_not_verified',
    );
    expect(await codeOf(senders.setDefaults(tenant, { from: `x@${myDomain}` }))).toBe('sender_not_verified');
    expect(await storedDefaults(tenant)).toEqual([]);
    expect(await senders.defaults(tenant)).toEqual({ from_address: null, reply_to: null });

    // A tenant's defaults are its own.
    const domain = await addDomain(tenant, 'verified');
    await senders.setDefaults(tenant, { from: `news@${domain}` });
    expect(await storedDefaults(tenant)).toHaveLength(1);
    expect(await senders.defaults(theirs)).toEqual({ from_address: null, reply_to: null });
    expect(await storedDefaults(theirs)).toEqual([]);
  });

  it("signs as the verified domain's key at delivery, and waits when it cannot", async () => {
    expect(await senders.forDelivery({ tenant_id: mine, sender: null })).toEqual({
      kind: 'ok',
      from: SMTP_FROM,
    });
    expect(
      await senders.forDelivery({
        tenant_id: mine,
        sender: { from: null, reply_to: box('help@x.example', 'Help') },
      }),
    ).toEqual({ kind: 'ok', from: SMTP_FROM, replyTo: '"Help" <help@x.example>' });

    const signed = await senders.forDelivery({
      tenant_id: mine,
      sender: { from: box(`news@mail.${myDomain}`, 'News'), reply_to: null },
    });
    const [key] = await s.sql<{ selector: string }>(
      'SELECT k.selector FROM domain_dkim_keys k JOIN domains d ON d.id = k.domain_id WHERE d.tenant_id = $1 AND d.name = $2',
      [mine, myDomain],
    );
    expect(signed).toMatchObject({
      kind: 'ok',
      from: `"News" <news@mail.${myDomain}>`,
      dkim: { domainName: myDomain, keySelector: key?.selector },
    });
    expect(signed.kind === 'ok' && signed.dkim?.privateKey.asymmetricKeyType).toBe('rsa');
    expect(signed).not.toHaveProperty('envelopeFrom');

    // Their verified domain does not sign my mail.
    const crossed = await senders.forDelivery({
      tenant_id: mine,
      sender: { from: box(`x@${theirDomain}`), reply_to: null },
    });
    expect(crossed.kind).toBe('unverified');

    // A key sealed with another SECRETS_KEY is never a reason to send unsigned.
    const otherKey = sendersService({
      domains: domainsRepository(s.db),
      keys: dkimKeys({ configured: randomBytes(32), stored: async () => randomBytes(32), production: true }),
      defaultFrom: SMTP_FROM,
    });
    const sealed = await otherKey.forDelivery({
      tenant_id: mine,
      sender: { from: box(`x@${myDomain}`), reply_to: null },
    });
    expect(sealed).toMatchObject({ kind: 'unverified' });
    expect(sealed.kind === 'unverified' && sealed.error).toContain('cannot be opened');

    const lost = await addDomain(mine, 'verification_lost');
    expect(
      await senders.forDelivery({ tenant_id: mine, sender: { from: box(`x@${lost}`), reply_to: null } }),
    ).toEqual({
      kind: 'unverified',
      error: `the from domain ${lost} is no longer a verified domain of the tenant; sending waits for it`,
    });
  });
});
