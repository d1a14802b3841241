import { api } from '../../lib/api';

export interface SendRequest {
  recipient: { email: string; name?: string };
  template_id: string;
  variables?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  idempotency_key?: string;
  send_at?: string;
  /** `"Name <address>"`; its domain must be a verified domain of the tenant. */
  from?: string;
  reply_to?: string;
}

export interface SendResult {
  email_id: string;
  status: 'queued' | 'scheduled';
  idempotency_reused: boolean;
}

export const sendEmail = (body: SendRequest) => api<SendResult>('/send', { method: 'POST', body });
