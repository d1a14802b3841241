/**
 * Service tests: a service built from its real repositories over a database of the test file's
 * own (a clone of the migrated template), without an HTTP server, Redis or workers. Queue
 * dispatches go to a recording dispatcher, so a test sees exactly what a service handed the queue.
 */

import type { Database } from '../../src/db/database.js';
import type { EmailsRepository, NewEmail } from '../../src/db/emails.repository.js';
import { createPgDatabase } from '../../src/db/pg.database.js';
import { templatesRepository } from '../../src/db/templates.repository.js';
import { tenantsRepository } from '../../src/db/tenants.repository.js';
import { newId } from '../../src/lib/ids.js';
import type { Dispatcher, QueueStats } from '../../src/queue/dispatcher.js';
import { type DispatchRequest, emailIdsOf, type JobPayloads, type QueueName } from '../../src/queue/jobs.js';
import { createTestDatabase } from './harness.js';

export interface ServiceDb {
  db: Database;
  /** Runs SQL as the test (setup and what must or must not exist afterwards). */
  sql<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export async function serviceDb(): Promise<ServiceDb> {
  const database = await createTestDatabase();
  const db = createPgDatabase(database.url, { applicationName: 'mailsystem-service-test', max: 4 });
  return {
    db,
    async sql<T>(text: string, params: unknown[] = []) {
      return (await db.query(text, params)).rows as T[];
    },
    async close() {
      await db.close();
      await database.drop();
    },
  };
}

/** A dispatcher that records what it is handed; `reset` makes brokerWasReset answer true once. */
export function recordingDispatcher() {
  const dispatched: { queue: QueueName; job: DispatchRequest<QueueName> }[] = [];
  let reset = false;
  let failing = false;
  const idle: QueueStats = { waiting: 0, delayed: 0, active: 0, oldestWaitingAgeMs: 0 };
  const dispatcher: Dispatcher = {
    kind: 'in-process',
    async dispatch(queue, jobs) {
      if (failing) throw new Error('broker unavailable');
      for (const job of jobs) dispatched.push({ queue, job: job as DispatchRequest<QueueName> });
    },
    consume: () => ({ close: async () => {} }),
    // Nothing runs the recorded jobs: each is pending until `clear()`.
    async pending(queue, jobIds) {
      const held = new Set(dispatched.filter((d) => d.queue === queue).map((d) => d.job.jobId));
      return new Set(jobIds.filter((id) => held.has(id)));
    },
    async brokerWasReset() {
      const r = reset;
      reset = false;
      return r;
    },
    stats: async () => idle,
    ping: async () => {},
    close: async () => {},
  };
  return {
    dispatcher,
    dispatched,
    /** The email ids of the `mail.send` jobs handed over so far. */
    sentIds: () =>
      dispatched
        .filter((d) => d.queue === 'mail.send')
        .flatMap((d) => emailIdsOf(d.job.payload as JobPayloads['mail.send'])),
    resetBroker: () => {
      reset = true;
    },
    fail: (on: boolean) => {
      failing = on;
    },
    clear: () => {
      dispatched.length = 0;
    },
  };
}

/** A tenant and its template, as `seedTenant` makes them. */
export interface TenantSeed {
  tenantId: string;
  templateId: string;
}

/** A tenant with one template, written through the repositories. */
export async function seedTenant(db: Database): Promise<TenantSeed> {
  const tenantId = `svc_${newId().slice(0, 8)}`;
  await tenantsRepository(db).create(tenantId, 'Service test tenant');
  const templateId = newId();
  await templatesRepository(db).create(tenantId, templateId, 'welcome', {
    subject_template: 'Hello {{ name }}',
    html_template: '<p>Hello {{ name }}</p>',
    text_template: null,
  });
  return { tenantId, templateId };
}

/** Inserts an accepted email through the repository, as /send would store it. */
export async function insertEmail(
  emails: EmailsRepository,
  seed: TenantSeed,
  extra: Partial<NewEmail> = {},
): Promise<string> {
  const id = newId();
  await emails.insert({
    id,
    tenantId: seed.tenantId,
    templateId: seed.templateId,
    templateVersion: 1,
    recipientEmail: `${id.slice(0, 8)}@example.com`,
    recipientName: null,
    variables: { name: 'Ann' },
    metadata: {},
    tags: [],
    headers: {},
    subject: null,
    status: 'queued',
    idempotencyKey: null,
    fingerprint: null,
    sendAt: null,
    provider: 'smtp',
    messageId: `<${id}@example.com>`,
    listUnsubscribe: false,
    ...extra,
  });
  return id;
}

/** The error code a service call was refused with ('accepted' when it was not). */
export const codeOf = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'accepted',
    (e: { code?: string }) => e.code ?? String(e),
  );

/** The code and details a service call was refused with (null when it was not): a call or its promise. */
export async function refusalOf(
  call: Promise<unknown> | (() => unknown),
): Promise<{ code: string; details: unknown } | null> {
  try {
    await (typeof call === 'function' ? call() : call);
    return null;
  } catch (e) {
    const err = e as { code?: string; details?: unknown };
    return { code: err.code ?? String(e), details: err.details };
  }
}
