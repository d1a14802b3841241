import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachmentsRepository } from '../../src/db/attachments.repository.js';
import { emailsRepository } from '../../src/db/emails.repository.js';
import { attachmentsService } from '../../src/services/attachments.service.js';
import {
  insertEmail,
  refusalOf,
  type ServiceDb,
  seedTenant,
  serviceDb,
  type TenantSeed,
} from '../support/services.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Files attached to mail: checked before anything is stored, stored once, sent, then let go. */
describe('attachments service', () => {
  let s: ServiceDb;
  let mine: TenantSeed;
  let theirs: TenantSeed;
  let attachments: ReturnType<typeof attachmentsService>;

  beforeAll(async () => {
    s = await serviceDb();
    mine = await seedTenant(s.db);
    theirs = await seedTenant(s.db);
    attachments = attachmentsService({ repo: attachmentsRepository(s.db), maxBytes: 64 });
  });
  afterAll(async () => {
    await s?.close();
  });

  /** An email of `seed` accepted with these files, as /send stores it. */
  const emailWith = async (
    seed: TenantSeed,
    files: { filename: string; content: string; content_type?: string }[],
  ) => {
    const prepared = attachments.prepare(files);
    await attachments.store(seed.tenantId, prepared);
    return insertEmail(emailsRepository(s.db), seed, { attachments: prepared.refs });
  };
  const contents = (tenantId: string) =>
    s.sql<{ sha256: string }>('SELECT sha256 FROM attachment_contents WHERE tenant_id = $1 ORDER BY sha256', [
      tenantId,
    ]);
  /** Why a request was refused: its code and the fields named. */
  const refusal = async (files: Parameters<typeof attachments.prepare>[0]) => {
    const r = await refusalOf(() => attachments.prepare(files));
    return [r?.code, (r?.details as { field: string }[] | undefined)?.map((d) => d.field)];
  };

  it('stores each file once per tenant, lists names without content, and hands delivery the bytes', async () => {
    const id = await emailWith(mine, [
      { filename: 'a.txt', content: b64('same bytes'), content_type: 'Text/Plain' },
      { filename: 'b.txt', content: b64('same bytes') },
      { filename: 'c.csv', content: b64('x,y'), content_type: 'text/csv' },
    ]);
    expect(await attachments.list(mine.tenantId, id)).toEqual([
      {
        position: 0,
        filename: 'a.txt',
        content_type: 'text/plain',
        content_id: null,
        sha256: sha256('same bytes'),
        size: 10,
      },
      {
        position: 1,
        filename: 'b.txt',
        content_type: 'application/octet-stream',
        content_id: null,
        sha256: sha256('same bytes'),
        size: 10,
      },
      {
        position: 2,
        filename: 'c.csv',
        content_type: 'text/csv',
        content_id: null,
        sha256: sha256('x,y'),
        size: 3,
      },
    ]);
    expect((await contents(mine.tenantId)).map((r) => r.sha256).sort()).toEqual(
      [sha256('same bytes'), sha256('x,y')].sort(),
    );

    const delivery = await attachments.forDelivery(mine.tenantId, id);
    expect(delivery.missing).toEqual([]);
    expect(delivery.attachments.map((a) => [a.filename, a.contentType, a.content.toString()])).toEqual([
      ['a.txt', 'text/plain', 'same bytes'],
      ['b.txt', 'application/octet-stream', 'same bytes'],
      ['c.csv', 'text/csv', 'x,y'],
    ]);

    // Another email with the same file stores nothing new; another tenant stores its own copy.
    await emailWith(mine, [{ filename: 'again.txt', content: b64('x,y') }]);
    expect(await contents(mine.tenantId)).toHaveLength(2);
    await emailWith(theirs, [{ filename: 'theirs.txt', content: b64('x,y') }]);
    expect((await contents(theirs.tenantId)).map((r) => r.sha256)).toEqual([sha256('x,y')]);
  });

  it('refuses malformed files (400), too many bytes (413) and executables (422), naming each field', async () => {
    expect(attachments.prepare(undefined)).toEqual({ refs: [], files: [] });
    expect(
      await refusal([
        { filename: 'a.txt', content: 'not base64!' },
        { filename: '', content: b64('x') },
      ]),
    ).toEqual(['validation_failed', ['attachments[0].content', 'attachments[1].filename']]);
    expect(await refusal([{ filename: 'big.bin.txt', content: b64('x'.repeat(65)) }])).toEqual([
      'attachments_too_large',
      ['attachments'],
    ]);
    expect(
      await refusal([
        { filename: 'setup.EXE', content: b64('MZ') },
        { filename: 'run.js ', content: b64('1') },
      ]),
    ).toEqual(['attachment_type_refused', ['attachments[0].filename', 'attachments[1].filename']]);
    // A malformed file is named first, whatever else is wrong.
    expect(await refusal([{ filename: 'setup.exe', content: '%%%' }])).toEqual([
      'validation_failed',
      ['attachments[0].content'],
    ]);
    expect(
      await refusal(Array.from({ length: 11 }, (_, i) => ({ filename: `${i}.txt`, content: b64('1') }))),
    ).toEqual(['validation_failed', ['attachments']]);
  });

  it("shows and sends no file of another tenant's email", async () => {
    const theirEmail = await emailWith(theirs, [{ filename: 'secret.txt', content: b64('their secret') }]);
    expect(await attachments.list(mine.tenantId, theirEmail)).toEqual([]);
    expect(await attachments.forDelivery(mine.tenantId, theirEmail)).toEqual({
      attachments: [],
      missing: [],
    });
    expect(await attachments.list(theirs.tenantId, theirEmail)).toHaveLength(1);
  });

  it('lets go of content no open or recent email needs, keeping its name; delivery then reports it missing', async () => {
    const tenant = await seedTenant(s.db);
    const old = await emailWith(tenant, [{ filename: 'old.txt', content: b64('old file') }]);
    const waiting = await emailWith(tenant, [{ filename: 'waiting.txt', content: b64('waiting file') }]);
    const recent = await emailWith(tenant, [{ filename: 'recent.txt', content: b64('recent file') }]);
    // Every file was last used 8 days ago; `old` and `recent` were sent, `old` long ago.
    await s.sql(
      "UPDATE attachment_contents SET last_used_at = now() - interval '8 days' WHERE tenant_id = $1",
      [tenant.tenantId],
    );
    await s.sql("UPDATE emails SET status = 'sent', updated_at = now() - interval '8 days' WHERE id = $1", [
      old,
    ]);
    await s.sql("UPDATE emails SET status = 'sent' WHERE id = $1", [recent]);

    expect(await attachments.purge(7)).toBe(1);
    expect((await contents(tenant.tenantId)).map((r) => r.sha256).sort()).toEqual(
      [sha256('waiting file'), sha256('recent file')].sort(),
    );
    expect(await attachments.list(tenant.tenantId, old)).toMatchObject([{ filename: 'old.txt', size: 8 }]);
    expect(await attachments.forDelivery(tenant.tenantId, old)).toEqual({
      attachments: [],
      missing: ['old.txt'],
    });
    expect((await attachments.forDelivery(tenant.tenantId, waiting)).missing).toEqual([]);
    expect(await attachments.purge(7)).toBe(0);
  });
});
