import { api, type Page } from '../../lib/api';

export interface EmailSummary {
  email_id: string;
  status: string;
  recipient: { email: string; name: string | null };
  template_id: string;
  template_version: number;
  bulk_job_id: string | null;
  subject: string | null;
  metadata: Record<string, unknown>;
  attempts: number;
  last_error: string | null;
  provider: string;
  provider_message_id: string | null;
  send_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface EmailEvent {
  type: string;
  at: string;
  data: unknown;
}

export interface EmailDetail extends EmailSummary {
  events: EmailEvent[];
  message_id?: string;
  next_attempt_at?: string | null;
  sent_at?: string | null;
  tags?: string[];
}

export interface EmailFilters {
  status?: string;
  recipient?: string;
  from?: string;
  to?: string;
  bulk_job_id?: string;
}

export const EMAIL_STATUSES = [
  'queued',
  'scheduled',
  'processing',
  'sent',
  'delivered',
  'opened',
  'failed',
  'bounced',
  'complained',
  'suppressed',
  'cancelled',
] as const;

/** Statuses that can still change without a webhook: worth watching. */
export const MOVING_STATUSES = new Set(['queued', 'scheduled', 'processing']);

export const emailsApi = {
  list: (filters: EmailFilters, cursor?: string) =>
    api<Page<EmailSummary>>('/emails', { query: { ...filters, cursor, limit: 50 } }),
  get: (id: string) => api<EmailDetail>(`/emails/${encodeURIComponent(id)}`),
  cancel: (id: string) =>
    api<{ email_id: string; status: string }>(`/emails/${encodeURIComponent(id)}/cancel`, { method: 'POST' }),
};
