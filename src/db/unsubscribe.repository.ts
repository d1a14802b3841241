import type { Database } from './database.js';
import { appendEventsFrom } from './email-events.js';
import { suppressionsRepository } from './suppressions.repository.js';

export function unsubscribeRepository(db: Database) {
  return {
    /**
     * Suppresses the address for the tenant and, the first time, records an `unsubscribed` event
     * on the email the link came from — one transaction. Returns null when the tenant is gone.
     */
    async unsubscribe(
      tenantId: string,
      email: string,
      emailId: string | null,
    ): Promise<{ created: boolean } | null> {
      return db.transaction(async (tx) => {
        const { rows: tenants } = await tx.query('SELECT 1 FROM tenants WHERE id = $1', [tenantId]);
        if (tenants.length === 0) return null;
        const { created } = await suppressionsRepository(tx).add(tenantId, email, 'unsubscribe', {
          via: 'list-unsubscribe',
          email_id: emailId,
        });
        if (created && emailId) {
          await tx.query(
            appendEventsFrom(
              `(SELECT id, tenant_id, template_id, recipient_email FROM emails
                 WHERE id = $1 AND tenant_id = $2 AND recipient_email = $3) e`,
              'unsubscribed',
              "jsonb_build_object('email', recipient_email)",
            ),
            [emailId, tenantId, email],
          );
        }
        return { created };
      });
    },
  };
}
export type UnsubscribeRepository = ReturnType<typeof unsubscribeRepository>;
