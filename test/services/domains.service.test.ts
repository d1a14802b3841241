import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { domainsRepository } from '../../src/db/domains.repository.js';
import { createTxtResolver } from '../../src/lib/dns.js';
import { newId } from '../../src/lib/ids.js';
import { dkimKeys } from '../../src/services/dkim-keys.js';
import { type DnsRecordView, domainsService } from '../../src/services/domains.service.js';
import { type DnsZone, startDnsServer } from '../support/dns-server.js';
import { codeOf, type ServiceDb, seedTenant, serviceDb } from '../support/services.js';

/** Adding, verifying and deleting sending domains, against a DNS server of the test's own. */
describe('domains service', () => {
  let s: ServiceDb;
  let dns: DnsZone;
  let mine: string;
  let theirs: string;
  let domains: ReturnType<typeof domainsService>;
  const secretsKey = randomBytes(32);

  beforeAll(async () => {
    s = await serviceDb();
    dns = await startDnsServer();
    mine = (await seedTenant(s.db)).tenantId;
    theirs = (await seedTenant(s.db)).tenantId;
    domains = domainsService({
      db: s.db,
      domains: domainsRepository(s.db),
      keys: dkimKeys({
        configured: secretsKey,
        stored: async () => {
          throw new Error('SECRETS_KEY is set: the stored key is never used');
        },
        production: true,
      }),
      dns: createTxtResolver({ servers: [dns.address], timeoutMs: 1000, tries: 1 }),
      spfMechanisms: ['include:spf.relay.example'],
    });
  });
  afterAll(async () => {
    await dns?.close();
    await s?.close();
  });

  const record = (d: { records: DnsRecordView[] }, purpose: string) =>
    d.records.find((r) => r.purpose === purpose) as DnsRecordView;
  /** Publishes the records the service asked for, as a tenant does at its DNS host. */
  const publish = (d: { records: DnsRecordView[] }, purposes: string[]) => {
    for (const r of d.records.filter((x) => purposes.includes(x.purpose))) dns.setTxt(r.name, [r.value]);
  };
  const domainRows = (name: string) =>
    s.sql<{ tenant_id: string; status: string }>('SELECT tenant_id, status FROM domains WHERE name = $1', [
      name,
    ]);
  const uniqueName = () => `d${randomBytes(4).toString('hex')}.example.com`;

  it('adds a pending domain with the DKIM, SPF and DMARC records to publish, and its key sealed', async () => {
    const name = uniqueName();
    const d = await domains.create(mine, { name: `  ${name.toUpperCase()}. ` });
    expect(d).toMatchObject({ name, status: 'pending', can_send: false });
    expect(record(d, 'dkim')).toMatchObject({ required: true, key_state: 'active', verified: false });
    expect(record(d, 'dkim').value).toMatch(/^v=DKIM1; k=rsa; p=/);
    expect(record(d, 'spf')).toMatchObject({ name, value: 'v=spf1 include:spf.relay.example ~all' });
    expect(record(d, 'dmarc')).toMatchObject({ name: `_dmarc.${name}`, required: false });
    expect(await domainRows(name)).toEqual([{ tenant_id: mine, status: 'pending' }]);
    const keys = await s.sql<{ private_key_enc: Buffer }>(
      'SELECT k.private_key_enc FROM domain_dkim_keys k JOIN domains d ON d.id = k.domain_id WHERE d.name = $1',
      [name],
    );
    expect(keys).toHaveLength(1);
    expect(keys[0]?.private_key_enc.toString('latin1')).not.toContain('PRIVATE KEY');
  });

  it('refuses a name that is not a domain, and a domain the tenant has already, adding nothing', async () => {
    const before = await s.sql('SELECT id FROM domains');
    expect(await codeOf(domains.create(mine, { name: 'not a domain' }))).toBe('validation_failed');
    expect(await codeOf(domains.create(mine, { name: 'x.com', return_path: 'two.labels' }))).toBe(
      'validation_failed',
    );
    const name = uniqueName();
    await domains.create(mine, { name });
    expect(await codeOf(domains.create(mine, { name }))).toBe('domain_exists');
    expect(await s.sql('SELECT id FROM domains')).toHaveLength(before.length + 1);
    // Another tenant may add the same name: each proves it by its own DKIM record.
    await domains.create(theirs, { name });
    expect((await domainRows(name)).map((r) => r.tenant_id).sort()).toEqual([mine, theirs].sort());
  });

  it('stays pending until the DKIM record is published, then is verified and may send', async () => {
    const d = await domains.create(mine, { name: uniqueName() });
    const unpublished = await domains.verify(mine, d.id);
    expect(unpublished).toMatchObject({ status: 'pending', can_send: false });
    expect(unpublished.status_reason).toContain('the name does not exist (NXDOMAIN)');
    expect(record(unpublished, 'dkim')).toMatchObject({ verified: false, found: [] });

    publish(d, ['dkim', 'spf']);
    const verified = await domains.verify(mine, d.id);
    expect(verified).toMatchObject({ status: 'verified', can_send: true, status_reason: null });
    expect(record(verified, 'dkim')).toMatchObject({ verified: true, error: null });
    expect(record(verified, 'spf')).toMatchObject({ verified: true });
    expect(record(verified, 'dmarc')).toMatchObject({ verified: false });
    expect(await domainRows(d.name)).toEqual([{ tenant_id: mine, status: 'verified' }]);
  });

  it('keeps a verified domain sending through a DNS outage, and loses it when the record goes', async () => {
    const d = await domains.create(mine, { name: uniqueName() });
    publish(d, ['dkim']);
    expect((await domains.verify(mine, d.id)).status).toBe('verified');

    dns.failing = true;
    try {
      const during = await domains.verify(mine, d.id);
      expect(during).toMatchObject({ status: 'verified', can_send: true });
      expect(during.status_reason).toContain('failed');
    } finally {
      dns.failing = false;
    }

    dns.remove(record(d, 'dkim').name);
    const lost = await domains.verify(mine, d.id);
    expect(lost).toMatchObject({ status: 'verification_lost', can_send: false });
    expect(await domainRows(d.name)).toEqual([{ tenant_id: mine, status: 'verification_lost' }]);
  });

  it("refuses a record holding another key than the domain's", async () => {
    const d = await domains.create(mine, { name: uniqueName() });
    const other = await domains.create(theirs, { name: uniqueName() });
    dns.setTxt(record(d, 'dkim').name, [record(other, 'dkim').value]);
    const checked = await domains.verify(mine, d.id);
    expect(checked.status).toBe('pending');
    expect(record(checked, 'dkim').error).toBe("the record holds another key than this domain's");
  });

  it("deletes a domain with its keys, and another tenant's id is not found and deletes nothing", async () => {
    const d = await domains.create(mine, { name: uniqueName() });
    for (const attempt of [domains.get, domains.verify, domains.remove, domains.rotateDkim]) {
      expect(await codeOf(attempt(theirs, d.id))).toBe('domain_not_found');
    }
    expect(await domainRows(d.name)).toHaveLength(1);

    await domains.remove(mine, d.id);
    expect(await domainRows(d.name)).toEqual([]);
    expect(await s.sql('SELECT id FROM domain_dkim_keys WHERE domain_id = $1', [d.id])).toEqual([]);
    expect(await codeOf(domains.remove(mine, d.id))).toBe('domain_not_found');
    expect(await codeOf(domains.get(mine, newId()))).toBe('domain_not_found');
    expect(await codeOf(domains.get(mine, 'not-a-uuid'))).toBe('domain_not_found');
  });
});
