import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { parse } from 'csv-parse/sync';
import {
  type BulkJob,
  type BulkRecipient,
  type SendRequest,
  unwrap,
  variableValue,
} from '../../client/mailsystem-client.js';
import { CliError, type Context, collect, EXIT, keyValues, type Run } from '../context.js';
import { printEmail, waitForEmail } from './emails.commands.js';
import { resolveTemplate } from './templates.commands.js';

async function readText(ctx: Context, path: string): Promise<string> {
  try {
    if (ctx.io.readFile) return await ctx.io.readFile(path);
    return path === '-' ? await text(process.stdin) : await readFile(path, 'utf8');
  } catch (e) {
    throw new CliError(`${path}: ${(e as Error).message}`);
  }
}

/**
 * A bulk CSV: a header row `email,name,<variables…>`. `name` is the display name and, unless a
 * column says otherwise, the `name` variable too; every other column is a variable (a cell written
 * as JSON fills loops and nested fields). Invalid and repeated addresses are left to the API,
 * which reports them in the job.
 */
export function recipientsFromCsv(text: string, file: string): BulkRecipient[] {
  let rows: string[][];
  try {
    rows = parse(text, { bom: true, skip_empty_lines: true, relax_column_count: true, trim: false });
  } catch (e) {
    throw new CliError(`${file}: not a CSV file: ${(e as Error).message}`);
  }
  const header = (rows[0] ?? []).map((h) => h.trim());
  const emailAt = header.findIndex((h) => h.toLowerCase() === 'email');
  if (emailAt === -1) throw new CliError(`${file}: the header row needs an "email" column (email,name,…)`);
  const nameAt = header.findIndex((h) => h.toLowerCase() === 'name');
  const recipients = rows.slice(1).map((cells): BulkRecipient => {
    const name = nameAt === -1 ? '' : (cells[nameAt] ?? '').trim();
    const variables: Record<string, unknown> = name ? { name } : {};
    header.forEach((h, i) => {
      if (i !== emailAt && i !== nameAt && h !== '') variables[h] = variableValue(cells[i] ?? '');
    });
    return {
      email: (cells[emailAt] ?? '').trim(),
      ...(name ? { name } : {}),
      ...(Object.keys(variables).length > 0 ? { variables } : {}),
    };
  });
  if (recipients.length === 0) throw new CliError(`${file}: a header but no rows`);
  return recipients;
}

/** Emails of the job past the queue: what the progress bar counts. */
const done = (j: BulkJob) => Math.min(j.accepted, j.sent + j.delivered + j.failed + j.skipped + j.cancelled);
const settled = (j: BulkJob) => j.status === 'cancelled' || (j.status === 'completed' && j.queued === 0);

export function sendingCommands(program: Command, run: Run) {
  run(
    program
      .command('send')
      .description('send one email from a template (flags, or the JSON body of POST /send in a file)')
      .option('--file <file>', 'a JSON file with the body of POST /send (- reads standard input)')
      .option('--to <email>', 'the recipient')
      .option('--name <name>', "the recipient's display name")
      .option('--template <name-or-id>', 'the template')
      .option('--var <name=value>', 'a variable (repeatable; JSON values allowed)', collect)
      .option('--metadata <name=value>', 'metadata kept with the email (repeatable)', collect)
      .option('--tag <tag>', 'a tag (repeatable)', collect)
      .option('--idempotency-key <key>', 'the same key and body answer the same email')
      .option('--send-at <time>', 'schedule it (RFC 3339)')
      .option('--wait', 'wait until it is sent (or fails) and show its timeline'),
    async (
      ctx,
      o: {
        file?: string;
        to?: string;
        name?: string;
        template?: string;
        var?: string[];
        metadata?: string[];
        tag?: string[];
        idempotencyKey?: string;
        sendAt?: string;
        wait?: boolean;
      },
    ) => {
      let body: Partial<SendRequest> = {};
      if (o.file) {
        const text = await readText(ctx, o.file);
        try {
          body = JSON.parse(text);
        } catch (e) {
          throw new CliError(`${o.file}: not JSON: ${(e as Error).message}`);
        }
      }
      const client = ctx.tenant();
      const variables = { ...body.variables, ...keyValues(o.var, '--var') };
      const metadata = { ...body.metadata, ...keyValues(o.metadata, '--metadata') };
      const request = {
        ...body,
        ...(o.to ? { recipient: { email: o.to, ...(o.name ? { name: o.name } : {}) } } : {}),
        ...(o.template ? { template_id: await resolveTemplate(client, o.template) } : {}),
        ...(Object.keys(variables).length > 0 ? { variables } : {}),
        ...(Object.keys(metadata).length > 0 ? { metadata } : {}),
        ...(o.tag ? { tags: o.tag } : {}),
        ...(o.idempotencyKey ? { idempotency_key: o.idempotencyKey } : {}),
        ...(o.sendAt ? { send_at: o.sendAt } : {}),
      };
      if (!request.recipient)
        throw new CliError('a recipient is needed: --to <email> (or "recipient" in --file)');
      if (!request.template_id) throw new CliError('a template is needed: --template <name-or-id>');
      const accepted = await unwrap(client.POST('/send', { body: request as SendRequest }));
      if (!o.wait) {
        ctx.print(accepted, () =>
          ctx.table(
            ['email', 'status', 'replayed'],
            [[accepted.email_id, accepted.status, accepted.idempotency_reused ? 'yes' : 'no']],
          ),
        );
        return 0;
      }
      const email = await waitForEmail(ctx, client, accepted.email_id);
      printEmail(ctx, email);
      return ['sent', 'delivered', 'opened'].includes(email.status) ? 0 : EXIT.unsuccessful;
    },
  );

  run(
    program
      .command('bulk')
      .description('send a template to every row of a CSV file, with a progress bar until the job completes')
      .requiredOption('--csv <file>', 'header row email,name,<variables…> (- reads standard input)')
      .requiredOption('--template <name-or-id>', 'the template')
      .option('--var <name=value>', 'a variable shared by every recipient (repeatable)', collect)
      .option('--metadata <name=value>', 'metadata kept with every email (repeatable)', collect)
      .option('--idempotency-key <key>', 'the same key and body answer the same job')
      .option('--send-at <time>', 'schedule it (RFC 3339)')
      .option('--no-wait', 'answer once the job is accepted'),
    async (
      ctx,
      o: {
        csv: string;
        template: string;
        var?: string[];
        metadata?: string[];
        idempotencyKey?: string;
        sendAt?: string;
        wait: boolean;
      },
    ) => {
      const recipients = recipientsFromCsv(await readText(ctx, o.csv), o.csv);
      const client = ctx.tenant();
      const shared = keyValues(o.var, '--var');
      const metadata = keyValues(o.metadata, '--metadata');
      const accepted = await unwrap(
        client.POST('/send/bulk', {
          body: {
            template_id: await resolveTemplate(client, o.template),
            recipients,
            ...(Object.keys(shared).length > 0 ? { shared_variables: shared } : {}),
            ...(Object.keys(metadata).length > 0 ? { metadata } : {}),
            ...(o.idempotencyKey ? { idempotency_key: o.idempotencyKey } : {}),
            ...(o.sendAt ? { send_at: o.sendAt } : {}),
          },
        }),
      );
      if (!ctx.json) {
        const skipped = accepted.invalid + accepted.duplicates;
        ctx.note(
          `bulk job ${accepted.bulk_job_id}: ${accepted.accepted} of ${accepted.total} recipients accepted` +
            (skipped > 0 ? ` (${accepted.invalid} invalid, ${accepted.duplicates} repeated)` : ''),
        );
      }
      const get = () => unwrap(client.GET('/bulk/{id}', { params: { path: { id: accepted.bulk_job_id } } }));
      let job = await get();
      if (o.wait && !settled(job)) {
        // The bar goes to stderr, so stdout keeps only the result; a log that is not a terminal
        // gets a line every second instead of a redrawn bar.
        const bar = new SingleBar({
          stream: ctx.io.stderr,
          format: 'sending [{bar}] {percentage}% | {value}/{total} | {status}',
          noTTYOutput: true,
          notTTYSchedule: 1000,
          hideCursor: Boolean(ctx.io.stderr.isTTY),
          barsize: 30,
        });
        bar.start(Math.max(job.accepted, 1), done(job), { status: job.status });
        while (!settled(job)) {
          await ctx.sleep(500);
          job = await get();
          bar.update(done(job), { status: job.status });
        }
        if (job.status === 'completed') bar.update(Math.max(job.accepted, 1), { status: job.status });
        bar.stop();
      }
      ctx.print(job, () =>
        ctx.table(
          [
            'job',
            'status',
            'total',
            'accepted',
            'sent',
            'delivered',
            'failed',
            'suppressed',
            'cancelled',
            'invalid',
          ],
          [
            [
              job.id,
              job.status,
              job.total,
              job.accepted,
              job.sent,
              job.delivered,
              job.failed,
              job.skipped,
              job.cancelled,
              job.invalid + job.duplicates,
            ],
          ],
        ),
      );
      return job.status === 'cancelled' ? EXIT.unsuccessful : 0;
    },
  );
}
