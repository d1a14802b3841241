import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailsRepository } from '../../src/db/emails.repository.js';
import { inboxRepository } from '../../src/db/inbox.repository.js';
import { newId } from '../../src/lib/ids.js';
import { inboxService } from '../../src/services/inbox.service.js';
import {
  codeOf,
  insertEmail,
  type ServiceDb,
  seedTenant,
  serviceDb,
  type TenantSeed,
} from '../support/services.js';

/** A message as a provider hands it over: text and HTML alternatives and one attached file. */
const mime = (messageId: string, to: string, subject: string) =>
  Buffer.from(
    [
      'From: "News" <news@example.com>',
      `To: ${to}`,
      `Subject: ${subject}`,
      `Message-ID: ${messageId}`,
      'X-Campaign: spring',
      '  sale',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="outer"',
      '',
      '--outer',
      'Content-Type: multipart/alternative; boundary="inner"',
      '',
      '--inner',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Hello Ann',
      '--inner',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<p>Hello Ann</p>',
      '--inner--',
      '--outer',
      'Content-Type: text/csv; name="report.csv"',
      'Content-Disposition: attachment; filename="report.csv"',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('a,b\n1,2\n').toString('base64'),
      '--outer--',
      '',
    ].join('\r\n'),
  );

/** The inbox: mail captured instead of delivered (test-mode keys, the `inbox` provider). */
describe('inbox service', () => {
  let s: ServiceDb;
  let mine: TenantSeed;
  let theirs: TenantSeed;
  let inbox: ReturnType<typeof inboxService>;

  beforeAll(async () => {
    s = await serviceDb();
    mine = await seedTenant(s.db);
    theirs = await seedTenant(s.db);
    inbox = inboxService({ inbox: inboxRepository(s.db) });
  });
  afterAll(async () => {
    await s?.close();
  });

  /** An email of `seed` captured by the `inbox` provider; its inbox id and what was captured. */
  const captured = async (seed: TenantSeed, subject = 'Welcome') => {
    const emailId = await insertEmail(emailsRepository(s.db), seed);
    const to = `${emailId.slice(0, 8)}@example.com`;
    const messageId = `<${emailId}@example.com>`;
    const raw = mime(messageId, to, subject);
    const id = await inbox.capture({ emailId, messageId, from: 'news@example.com', to, subject, raw });
    return { id: id ?? '', emailId, messageId, to, raw };
  };
  const stored = (tenantId: string) =>
    s.sql<{ id: string }>('SELECT id FROM inbox_messages WHERE tenant_id = $1', [tenantId]);

  it("keeps a captured message for its email's tenant and shows it parsed, headers as sent", async () => {
    const m = await captured(mine);
    const shown = await inbox.get(mine.tenantId, m.id);
    expect(shown).toMatchObject({
      id: m.id,
      email_id: m.emailId,
      message_id: m.messageId,
      from: 'news@example.com',
      to: m.to,
      subject: 'Welcome',
      size: m.raw.length,
      text: expect.stringContaining('Hello Ann'),
      html: expect.stringContaining('<p>Hello Ann</p>'),
      attachments: [{ filename: 'report.csv', content_type: 'text/csv', content_id: null, size: 8 }],
    });
    expect(shown.headers).toContainEqual({ name: 'X-Campaign', value: 'spring sale' });
    expect(shown.headers).toContainEqual({ name: 'Subject', value: 'Welcome' });
    expect((await inbox.raw(mine.tenantId, m.id)).equals(m.raw)).toBe(true);
  });

  it('keeps one message per email: a repeated attempt replaces it', async () => {
    const m = await captured(mine, 'First try');
    const again = await inbox.capture({
      emailId: m.emailId,
      messageId: m.messageId,
      from: 'news@example.com',
      to: m.to,
      subject: 'Second try',
      raw: mime(m.messageId, m.to, 'Second try'),
    });
    expect(again).toBe(m.id);
    expect(await s.sql('SELECT subject FROM inbox_messages WHERE email_id = $1', [m.emailId])).toEqual([
      { subject: 'Second try' },
    ]);
  });

  it('captures nothing for an email that does not exist', async () => {
    const before = await s.sql('SELECT count(*)::int AS n FROM inbox_messages');
    const emailId = newId();
    const messageId = `<${emailId}@example.com>`;
    const raw = mime(messageId, 'ann@example.com', 'Lost');
    expect(
      await inbox.capture({
        emailId,
        messageId,
        from: 'news@example.com',
        to: 'ann@example.com',
        subject: 'Lost',
        raw,
      }),
    ).toBeNull();
    expect(await inbox.captureRaw(raw, { from: 'news@example.com', to: ['ann@example.com'] })).toBeNull();
    const notOurs = mime('<hello@elsewhere.example>', 'ann@example.com', 'Not ours');
    expect(
      await inbox.captureRaw(notOurs, { from: 'x@elsewhere.example', to: ['ann@example.com'] }),
    ).toBeNull();
    expect(await s.sql('SELECT count(*)::int AS n FROM inbox_messages')).toEqual(before);
  });

  it('keeps a message from the capture SMTP server in the inbox of the tenant whose email it is', async () => {
    const emailId = await insertEmail(emailsRepository(s.db), theirs);
    const raw = mime(`<${emailId}@mail.example.com>`, 'bob@example.com', 'Via SMTP');
    const id = await inbox.captureRaw(raw, { from: 'bounce@example.com', to: ['bob@example.com'] });
    expect(id).not.toBeNull();
    expect(
      await s.sql(
        'SELECT tenant_id, email_id, from_addr, to_addr, subject FROM inbox_messages WHERE id = $1',
        [id],
      ),
    ).toEqual([
      {
        tenant_id: theirs.tenantId,
        email_id: emailId,
        from_addr: '"News" <news@example.com>',
        to_addr: 'bob@example.com',
        subject: 'Via SMTP',
      },
    ]);
  });

  it('lists newest first, searching recipient and subject, page by page', async () => {
    const tenant = await seedTenant(s.db);
    const a = await captured(tenant, 'Invoice May');
    const b = await captured(tenant, 'Welcome aboard');
    const c = await captured(tenant, 'Invoice June');
    const all = await inbox.list(tenant.tenantId, undefined, 2, undefined);
    expect(all.items.map((i) => i.id)).toEqual([c.id, b.id]);
    const rest = await inbox.list(tenant.tenantId, undefined, 2, all.next_cursor ?? undefined);
    expect(rest).toMatchObject({ items: [{ id: a.id, subject: 'Invoice May' }], next_cursor: null });

    expect((await inbox.list(tenant.tenantId, ' INVOICE ', 10, undefined)).items.map((i) => i.id)).toEqual([
      c.id,
      a.id,
    ]);
    expect(
      (await inbox.list(tenant.tenantId, b.to.toUpperCase(), 10, undefined)).items.map((i) => i.id),
    ).toEqual([b.id]);
    expect(await codeOf(inbox.list(tenant.tenantId, undefined, 2, 'not-a-cursor'))).toBe('invalid_cursor');
  });

  it("answers not found for another tenant's message on every call, and removes only one's own", async () => {
    const theirMessage = await captured(theirs);
    for (const attempt of [inbox.get, inbox.raw, inbox.remove]) {
      expect(await codeOf(attempt(mine.tenantId, theirMessage.id))).toBe('inbox_message_not_found');
      expect(await codeOf(attempt(mine.tenantId, 'not-a-uuid'))).toBe('inbox_message_not_found');
    }
    expect((await inbox.list(mine.tenantId, undefined, 100, undefined)).items.map((i) => i.id)).not.toContain(
      theirMessage.id,
    );
    expect((await stored(theirs.tenantId)).map((r) => r.id)).toContain(theirMessage.id);

    const mineMessage = await captured(mine);
    await inbox.remove(mine.tenantId, mineMessage.id);
    expect((await stored(mine.tenantId)).map((r) => r.id)).not.toContain(mineMessage.id);
    expect(await codeOf(inbox.remove(mine.tenantId, mineMessage.id))).toBe('inbox_message_not_found');
  });

  it("trims each tenant's inbox to its newest messages", async () => {
    const one = await seedTenant(s.db);
    const two = await seedTenant(s.db);
    const ones = [await captured(one), await captured(one), await captured(one)];
    const twos = [await captured(two), await captured(two)];
    const before = (await s.sql<{ n: number }>('SELECT count(*)::int AS n FROM inbox_messages'))[0]?.n ?? 0;
    const removed = await inbox.trim(2);
    expect(removed).toBeGreaterThanOrEqual(1);
    expect((await stored(one.tenantId)).map((r) => r.id).sort()).toEqual([ones[1]?.id, ones[2]?.id].sort());
    expect((await stored(two.tenantId)).map((r) => r.id).sort()).toEqual(twos.map((m) => m.id).sort());
    expect((await s.sql<{ n: number }>('SELECT count(*)::int AS n FROM inbox_messages'))[0]?.n).toBe(
      before - removed,
    );
  });
});
