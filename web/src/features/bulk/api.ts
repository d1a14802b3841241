import { api } from '../../lib/api';

export interface BulkRecipient {
  email: string;
  name?: string;
  variables?: Record<string, unknown>;
}

export interface BulkRequest {
  template_id: string;
  recipients: BulkRecipient[];
  shared_variables?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  idempotency_key?: string;
  send_at?: string;
}

export interface BulkAccepted {
  bulk_job_id: string;
  status: string;
  total: number;
  idempotency_reused: boolean;
}

export interface BulkJob {
  id: string;
  status: 'queued' | 'processing' | 'completed' | 'cancelled' | string;
  total: number;
  queued: number;
  sent: number;
  delivered: number;
  failed: number;
  skipped: number;
  created_at: string;
  completed_at: string | null;
  [more: string]: unknown;
}

export const FINISHED = new Set(['completed', 'cancelled']);

export const bulkApi = {
  send: (body: BulkRequest) => api<BulkAccepted>('/send/bulk', { method: 'POST', body }),
  get: (id: string) => api<BulkJob>(`/bulk/${encodeURIComponent(id)}`),
  cancel: (id: string) => api<BulkJob>(`/bulk/${encodeURIComponent(id)}/cancel`, { method: 'POST' }),
};

/** Emails of the job that are past the queue: what the progress bar counts. */
export const doneCount = (j: BulkJob) => Math.min(j.total, j.sent + j.delivered + j.failed + j.skipped);
