import { api, type Page } from '../../lib/api';

export interface DeadLetter {
  id: string;
  email_id: string;
  reason: string;
  last_error: string | null;
  attempts: number;
  recipient: string;
  template_id: string;
  bulk_job_id: string | null;
  email_status: string;
  created_at: string;
  retried_at: string | null;
}

export const deadLettersApi = {
  list: (includeRetried: boolean, cursor?: string) =>
    api<Page<DeadLetter>>('/dead-letters', { query: { include_retried: includeRetried, cursor, limit: 50 } }),
  retry: (id: string) =>
    api<{ dead_letter_id: string; email_id: string; status: string }>(
      `/dead-letters/${encodeURIComponent(id)}/retry`,
      { method: 'POST' },
    ),
};
