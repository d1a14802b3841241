import type { Command } from 'commander';
import {
  type EmailWithEvents,
  type MailsystemClient,
  type paths,
  unwrap,
} from '../../client/mailsystem-client.js';
import { CliError, type Context, collect, positiveInt, type Run, time } from '../context.js';

type EmailStatus = NonNullable<paths['/emails']['get']['parameters']['query']>['status'];
type FeedEvent = EventFeed['items'][number];
type EventFeed = NonNullable<paths['/events']['get']['responses'][200]['content']['application/json']>;

/** Statuses that still change without a provider's webhook. */
const MOVING = new Set(['queued', 'scheduled', 'processing']);

/** What an event adds, in a few words: the error, the attempt, the provider's answer. */
function eventDetails(data: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const key of [
    'attempt',
    'error',
    'reason',
    'response',
    'bounce_type',
    'next_attempt_at',
    'provider',
  ]) {
    const v = data[key];
    if (v !== undefined && v !== null && v !== '')
      parts.push(`${key}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  }
  return parts.join('; ');
}

export function printEmail(ctx: Context, e: EmailWithEvents) {
  ctx.print(e, () => {
    const summary = ctx.table(
      ['email', 'status', 'recipient', 'subject', 'attempts', 'template'],
      [
        [
          e.email_id,
          e.status,
          e.recipient.name ? `${e.recipient.name} <${e.recipient.email}>` : e.recipient.email,
          e.subject,
          e.attempts,
          `${e.template_id} v${e.template_version}`,
        ],
      ],
    );
    const timeline = ctx.table(
      ['at', 'event', 'details'],
      e.events.map((ev) => [time(ev.at), ev.type, eventDetails(ev.data)]),
    );
    const error = e.last_error ? `\nlast error: ${e.last_error}` : '';
    return `${summary}\n${timeline}${error}`;
  });
}

export async function waitForEmail(ctx: Context, client: MailsystemClient, id: string) {
  for (;;) {
    const e = await unwrap(client.GET('/emails/{id}', { params: { path: { id } } }));
    if (!MOVING.has(e.status) || e.status === 'scheduled') return e;
    await ctx.sleep(500);
  }
}

function printEvent(ctx: Context, ev: FeedEvent) {
  if (ctx.json) {
    ctx.io.stdout.write(`${JSON.stringify(ev)}\n`);
    return;
  }
  const details = eventDetails(ev.data);
  ctx.io.stdout.write(
    `${time(ev.at)}  ${ev.type.padEnd(12)} ${ev.recipient}  ${ev.email_id}${details ? `  ${details}` : ''}\n`,
  );
}

/** How far back each poll of `tail` looks again: events that became visible out of order. */
const TAIL_OVERLAP_MS = 5000;

export function emailsCommands(program: Command, run: Run) {
  const emails = program.command('emails').description('look emails up: one with its timeline, or a list');

  run(
    emails
      .command('get')
      .description('an email, its status and every event')
      .argument('<id>', 'the email id'),
    async (ctx, id: string) => {
      printEmail(ctx, await unwrap(ctx.tenant().GET('/emails/{id}', { params: { path: { id } } })));
      return 0;
    },
  );

  run(
    emails
      .command('list')
      .description('list emails, newest first')
      .option('--status <status>', 'only this status (queued, sent, failed, bounced, …)')
      .option('--recipient <email>', 'only this recipient')
      .option('--from <time>', 'created at or after (RFC 3339 or YYYY-MM-DD)')
      .option('--to <time>', 'created at or before')
      .option('--bulk <job-id>', 'only this bulk job')
      .option('--limit <n>', 'how many (1–200)', positiveInt, 50)
      .option('--cursor <cursor>', 'the next page, as printed by the previous one'),
    async (
      ctx,
      o: {
        status?: string;
        recipient?: string;
        from?: string;
        to?: string;
        bulk?: string;
        limit: number;
        cursor?: string;
      },
    ) => {
      const page = await unwrap(
        ctx.tenant().GET('/emails', {
          params: {
            query: {
              limit: o.limit,
              ...(o.status ? { status: o.status as EmailStatus } : {}),
              ...(o.recipient ? { recipient: o.recipient } : {}),
              ...(o.from ? { from: o.from } : {}),
              ...(o.to ? { to: o.to } : {}),
              ...(o.bulk ? { bulk_job_id: o.bulk } : {}),
              ...(o.cursor ? { cursor: o.cursor } : {}),
            },
          },
        }),
      );
      ctx.print(page, () =>
        ctx.table(
          ['created', 'email', 'recipient', 'status', 'subject', 'attempts', 'last error'],
          page.items.map((e) => [
            time(e.created_at),
            e.email_id,
            e.recipient.email,
            e.status,
            e.subject,
            e.attempts,
            e.last_error,
          ]),
        ),
      );
      if (page.next_cursor && !ctx.json) ctx.note(`more: --cursor ${page.next_cursor}`);
      return 0;
    },
  );

  const dead = program.command('dead-letters').description('emails that failed for good: list, retry');

  run(
    dead
      .command('list')
      .description('dead letters, newest first')
      .option('--include-retried', 'also those already retried')
      .option('--limit <n>', 'how many (1–200)', positiveInt, 50)
      .option('--cursor <cursor>', 'the next page'),
    async (ctx, o: { includeRetried?: boolean; limit: number; cursor?: string }) => {
      const page = await unwrap(
        ctx.tenant().GET('/dead-letters', {
          params: {
            query: {
              include_retried: Boolean(o.includeRetried),
              limit: o.limit,
              ...(o.cursor ? { cursor: o.cursor } : {}),
            },
          },
        }),
      );
      ctx.print(page, () =>
        ctx.table(
          ['created', 'id', 'email', 'recipient', 'reason', 'attempts', 'last error', 'retried'],
          page.items.map((d) => [
            time(d.created_at),
            d.id,
            d.email_id,
            d.recipient,
            d.reason,
            d.attempts,
            d.last_error,
            time(d.retried_at),
          ]),
        ),
      );
      if (page.next_cursor && !ctx.json) ctx.note(`more: --cursor ${page.next_cursor}`);
      return 0;
    },
  );

  run(
    dead
      .command('retry')
      .description('send dead letters again, each with a fresh retry budget')
      .argument('[ids...]', 'dead letter ids (dead-letters list)')
      .option('--all', 'every dead letter not retried yet'),
    async (ctx, ids: string[], o: { all?: boolean }) => {
      const client = ctx.tenant();
      const targets = [...ids];
      if (o.all) {
        let cursor: string | undefined;
        do {
          const page = await unwrap(
            client.GET('/dead-letters', {
              params: { query: { limit: 200, include_retried: false, cursor } },
            }),
          );
          targets.push(...page.items.map((d) => d.id));
          cursor = page.next_cursor ?? undefined;
        } while (cursor);
      }
      if (targets.length === 0 && !o.all) throw new CliError('name dead letters to retry, or --all');
      const retried: Array<{ dead_letter_id: string; email_id: string; status: string }> = [];
      for (const id of targets) {
        retried.push(await unwrap(client.POST('/dead-letters/{id}/retry', { params: { path: { id } } })));
      }
      ctx.print({ retried }, () =>
        ctx.table(
          ['dead letter', 'email', 'status'],
          retried.map((r) => [r.dead_letter_id, r.email_id, r.status]),
        ),
      );
      return 0;
    },
  );

  run(
    program
      .command('tail')
      .description('print new events as they happen (Ctrl-C stops); --json gives one JSON object per line')
      .option('-n, --lines <n>', 'recent events to show first', (v) => (v === '0' ? 0 : positiveInt(v)), 10)
      .option('--type <type>', 'only events of this type (repeatable: sent, failed, bounced, …)', collect)
      .option('--every <ms>', 'how often to ask (milliseconds)', positiveInt, 1000),
    async (ctx, o: { lines: number; type?: string[]; every: number }) => {
      const client = ctx.tenant();
      const wanted = o.type ? new Set(o.type) : null;
      const show = (ev: FeedEvent) => {
        if (!wanted || wanted.has(ev.type)) printEvent(ctx, ev);
      };
      const first = await unwrap(
        client.GET('/events', { params: { query: { limit: Math.max(o.lines, 1) } } }),
      );
      for (const ev of first.items.slice(first.items.length - o.lines)) show(ev);
      ctx.note('following new events (Ctrl-C stops)');
      // Events of concurrent transactions become visible slightly out of order: each poll starts
      // from where the feed stood TAIL_OVERLAP_MS ago and skips the ids already printed.
      const positions: Array<{ at: number; cursor: string }> = [
        { at: Date.now(), cursor: first.next_cursor },
      ];
      // Ids printed, with when: one printed before the poll a position was taken at is behind that
      // position, so it can be forgotten once polls start from there.
      const seen = new Map(first.items.map((e) => [e.id, Date.now()]));
      let stop = false;
      const onSignal = () => {
        stop = true;
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        while (!stop) {
          await ctx.sleep(o.every);
          const now = Date.now();
          while (positions.length > 1 && (positions[1]?.at ?? now) <= now - TAIL_OVERLAP_MS)
            positions.shift();
          let cursor = positions[0]?.cursor ?? first.next_cursor;
          let page: EventFeed;
          do {
            page = await unwrap(client.GET('/events', { params: { query: { cursor, limit: 500 } } }));
            for (const ev of page.items) {
              if (seen.has(ev.id)) continue;
              seen.set(ev.id, now);
              show(ev);
            }
            cursor = page.next_cursor;
          } while (page.has_more && !stop);
          positions.push({ at: now, cursor });
          const from = positions[0]?.at ?? now;
          for (const [id, at] of seen) if (at < from) seen.delete(id);
        }
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      return 0;
    },
  );
}
