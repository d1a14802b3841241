import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bulkRepository } from '../../src/db/bulk.repository.js';
import { templatesRepository } from '../../src/db/templates.repository.js';
import {
  BULK_JOB_EMAILS,
  BULK_PRIORITY,
  emailIdsOf,
  type JobPayloads,
  sendBatchJobId,
} from '../../src/queue/jobs.js';
import { bulkService } from '../../src/services/bulk.service.js';
import { inlineEngine } from '../../src/templates/renderer.js';
import { codeOf, recordingDispatcher, type ServiceDb, seedTenant, serviceDb } from '../support/services.js';

/** Acceptance and fan-out edges of POST /send/bulk, through the service and its ports only. */
describe('bulk service', () => {
  let s: ServiceDb;
  let mine: { tenantId: string; templateId: string };
  let theirs: { tenantId: string; templateId: string };
  const renderer = inlineEngine();
  const queue = recordingDispatcher();
  let bulk: ReturnType<typeof bulkService>;

  beforeAll(async () => {
    s = await serviceDb();
    mine = await seedTenant(s.db);
    theirs = await seedTenant(s.db);
    bulk = bulkService({
      bulk: bulkRepository(s.db),
      templates: templatesRepository(s.db),
      renderer,
      dispatcher: queue.dispatcher,
      defaultProvider: 'mock',
      messageIdDomain: 'mail.example.com',
    });
  });
  afterAll(async () => {
    await renderer.close();
    await s?.close();
  });
  beforeEach(() => queue.clear());

  it('reports invalid, duplicate and variable-less recipients, and fans out the rest once', async () => {
    await s.sql(
      `INSERT INTO suppressions (tenant_id, email, reason, source) VALUES ($1, 'blocked@example.com', 'complaint', '{}')`,
      [mine.tenantId],
    );
    const r = await bulk.accept(
      mine.tenantId,
      {
        template_id: mine.templateId,
        recipients: [
          { email: 'a@example.com', variables: { name: 'A' } },
          { email: 'A@example.com', variables: { name: 'again' } },
          { email: 'not-an-address', variables: { name: 'X' } },
          { email: 'b@example.com' },
          { email: 'c@example.com', variables: { name: 'C' } },
          { email: 'blocked@example.com', variables: { name: 'B' } },
        ],
      },
      undefined,
    );
    expect(r).toMatchObject({ status: 'queued', total: 6, duplicates: 1, idempotency_reused: false });
    expect(r.invalid).toBe(2); // the malformed address and the one without its variable
    expect(queue.dispatched.map((d) => d.queue)).toEqual(['mail.bulk']);

    expect(await bulk.fanout(r.bulk_job_id)).toEqual({ created: 2 });
    const emails = await s.sql<{ recipient_email: string }>(
      'SELECT recipient_email FROM emails WHERE bulk_job_id = $1 ORDER BY recipient_email',
      [r.bulk_job_id],
    );
    expect(emails.map((e) => e.recipient_email)).toEqual(['a@example.com', 'c@example.com']);
    // A second run of the same job (a redelivered job) adds nothing.
    expect(await bulk.fanout(r.bulk_job_id)).toEqual({ created: 0 });
    expect(
      await s.sql('SELECT count(*)::int AS n FROM emails WHERE bulk_job_id = $1', [r.bulk_job_id]),
    ).toEqual([{ n: 2 }]);
  });

  it('hands the fan-out to the queue in shared jobs of BULK_JOB_EMAILS emails, each keyed as its rows say', async () => {
    const recipients = Array.from({ length: 250 }, (_, i) => ({
      email: `many-${i}@example.com`,
      variables: { name: `N${i}` },
    }));
    const r = await bulk.accept(mine.tenantId, { template_id: mine.templateId, recipients }, undefined);
    queue.clear();
    expect(await bulk.fanout(r.bulk_job_id)).toEqual({ created: 250 });
    const jobs = queue.dispatched.filter((d) => d.queue === 'mail.send').map((d) => d.job);
    const sizes = jobs.map((j) => emailIdsOf(j.payload as JobPayloads['mail.send']).length);
    expect(sizes.sort((x, y) => y - x)).toEqual([...Array(12).fill(BULK_JOB_EMAILS), 10]);
    expect(jobs.every((j) => j.priority === BULK_PRIORITY && 'bulk' in j.payload)).toBe(true);
    const rows = await s.sql<{ id: string; send_batch: string }>(
      'SELECT id, send_batch FROM emails WHERE bulk_job_id = $1',
      [r.bulk_job_id],
    );
    const jobOf = new Map(
      jobs.flatMap((j) => emailIdsOf(j.payload as JobPayloads['mail.send']).map((id) => [id, j.jobId])),
    );
    // Every email is in exactly one job, the one its row names.
    expect(jobOf.size).toBe(250);
    expect(rows.filter((row) => jobOf.get(row.id) !== sendBatchJobId(row.send_batch))).toEqual([]);
  });

  it("refuses another tenant's template and a malformed send_at, storing nothing", async () => {
    const before = await s.sql('SELECT count(*)::int AS n FROM bulk_jobs');
    expect(
      await codeOf(
        bulk.accept(
          mine.tenantId,
          { template_id: theirs.templateId, recipients: [{ email: 'a@example.com' }] },
          undefined,
        ),
      ),
    ).toBe('unknown_template');
    expect(
      await codeOf(
        bulk.accept(
          mine.tenantId,
          { template_id: mine.templateId, recipients: [{ email: 'a@example.com' }], send_at: 'next tuesday' },
          undefined,
        ),
      ),
    ).toBe('validation_failed');
    expect(await s.sql('SELECT count(*)::int AS n FROM bulk_jobs')).toEqual(before);
    expect(queue.dispatched).toEqual([]);
  });

  it('answers a repeated idempotency key with the same job, and another body with a conflict', async () => {
    const body = {
      template_id: mine.templateId,
      recipients: [{ email: 'x@example.com', variables: { name: 'X' } }],
    };
    const first = await bulk.accept(mine.tenantId, body, 'campaign-7');
    expect(await bulk.accept(mine.tenantId, body, 'campaign-7')).toMatchObject({
      bulk_job_id: first.bulk_job_id,
      idempotency_reused: true,
    });
    expect(
      await codeOf(
        bulk.accept(
          mine.tenantId,
          { ...body, recipients: [{ email: 'y@example.com', variables: { name: 'Y' } }] },
          'campaign-7',
        ),
      ),
    ).toBe('idempotency_key_reused');
  });
});
