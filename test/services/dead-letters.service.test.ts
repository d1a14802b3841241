import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deadLettersRepository } from '../../src/db/dead-letters.repository.js';
import { emailsRepository } from '../../src/db/emails.repository.js';
import { newId } from '../../src/lib/ids.js';
import { deadLettersService } from '../../src/services/dead-letters.service.js';
import {
  codeOf,
  insertEmail,
  recordingDispatcher,
  type ServiceDb,
  seedTenant,
  serviceDb,
} from '../support/services.js';

describe('dead letters service', () => {
  let s: ServiceDb;
  let mine: { tenantId: string; templateId: string };
  let theirs: { tenantId: string; templateId: string };
  const queue = recordingDispatcher();
  const dispatchErrors: unknown[] = [];
  let deadLetters: ReturnType<typeof deadLettersService>;

  /** An email that failed for good, with its dead letter, as delivery leaves it. */
  const failed = async (seed: { tenantId: string; templateId: string }) => {
    const emailId = await insertEmail(emailsRepository(s.db), seed);
    const id = newId();
    await s.sql(`UPDATE emails SET status = 'failed', attempts = 3, next_attempt_at = NULL WHERE id = $1`, [
      emailId,
    ]);
    await s.sql(
      `INSERT INTO dead_letters (id, tenant_id, email_id, reason, last_error, attempts)
       VALUES ($1, $2, $3, 'permanent', '550 mailbox unavailable', 3)`,
      [id, seed.tenantId, emailId],
    );
    return { id, emailId };
  };
  const statusOf = async (emailId: string) =>
    (
      await s.sql<{ status: string; attempts: number }>('SELECT status, attempts FROM emails WHERE id = $1', [
        emailId,
      ])
    )[0];

  beforeAll(async () => {
    s = await serviceDb();
    mine = await seedTenant(s.db);
    theirs = await seedTenant(s.db);
    deadLetters = deadLettersService({
      deadLetters: deadLettersRepository(s.db),
      dispatcher: queue.dispatcher,
      onDispatchError: (e) => dispatchErrors.push(e),
    });
  });
  afterAll(async () => {
    await s?.close();
  });
  beforeEach(() => {
    queue.clear();
    queue.fail(false);
    dispatchErrors.length = 0;
  });

  it('retries once: the email is queued again from attempt 0 with a retried event and one job', async () => {
    const dl = await failed(mine);
    expect(await deadLetters.retry(mine.tenantId, dl.id)).toEqual({
      dead_letter_id: dl.id,
      email_id: dl.emailId,
      status: 'queued',
    });
    expect(await statusOf(dl.emailId)).toEqual({ status: 'queued', attempts: 0 });
    expect(queue.sentIds()).toEqual([dl.emailId]);
    const events = await s.sql<{ type: string }>(
      'SELECT type FROM email_events WHERE email_id = $1 ORDER BY id',
      [dl.emailId],
    );
    expect(events.map((e) => e.type)).toEqual(['queued', 'retried']);
    // A second retry of the same dead letter is refused and changes nothing.
    expect(await codeOf(deadLetters.retry(mine.tenantId, dl.id))).toBe('dead_letter_already_retried');
    expect(queue.sentIds()).toEqual([dl.emailId]);
  });

  it("answers not found for another tenant's dead letter and leaves it alone", async () => {
    const dl = await failed(theirs);
    expect(await codeOf(deadLetters.retry(mine.tenantId, dl.id))).toBe('dead_letter_not_found');
    expect(await codeOf(deadLetters.get(mine.tenantId, dl.id))).toBe('dead_letter_not_found');
    expect(await codeOf(deadLetters.retry(mine.tenantId, 'nope'))).toBe('dead_letter_not_found');
    expect(await statusOf(dl.emailId)).toEqual({ status: 'failed', attempts: 3 });
    expect(queue.dispatched).toEqual([]);
  });

  it('does not retry an email that moved on since it failed', async () => {
    const dl = await failed(mine);
    await s.sql(`UPDATE emails SET status = 'delivered' WHERE id = $1`, [dl.emailId]);
    expect(await codeOf(deadLetters.retry(mine.tenantId, dl.id))).toBe('dead_letter_already_retried');
    expect(await statusOf(dl.emailId)).toMatchObject({ status: 'delivered' });
    expect(queue.dispatched).toEqual([]);
  });

  it('keeps the retry when the queue refuses the job: the email is queued for the recovery loop', async () => {
    const dl = await failed(mine);
    queue.fail(true);
    await expect(deadLetters.retry(mine.tenantId, dl.id)).resolves.toMatchObject({ status: 'queued' });
    expect(await statusOf(dl.emailId)).toEqual({ status: 'queued', attempts: 0 });
    expect(dispatchErrors).toHaveLength(1);
  });
});
