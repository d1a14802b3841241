import type { EmailEventType } from '../domain/email-status.js';

/**
 * The one way a repository appends email events: an INSERT that writes one event for every row
 * `source` yields, to be used inside the statement that changes the emails (a CTE), so that a
 * status change and its event are one statement. `source` must yield `id`, `tenant_id` and
 * `template_id` of the emails (every event carries its template for the analytics trigger,
 * migration 015). `type` is an event type, or a SQL expression for one; `data` a SQL expression of
 * the event's JSON data. Webhook ingestion writes its events in `record_webhook_event` (migration
 * 006 and later), the database's own writer.
 */
export const appendEventsFrom = (source: string, type: EmailEventType | { sql: string }, data: string) =>
  `INSERT INTO email_events (email_id, tenant_id, template_id, type, data)
   SELECT id, tenant_id, template_id, ${typeof type === 'string' ? `'${type}'` : type.sql}, ${data} FROM ${source}`;
