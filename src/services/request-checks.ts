import type { TemplatesRepository, TemplateVersionRow } from '../db/templates.repository.js';
import { checkCustomHeaders } from '../domain/address.js';
import { AppError } from '../domain/errors.js';
import { isUuid } from '../lib/ids.js';

export interface FieldProblem {
  field: string;
  message: string;
}

const HEADER_PROBLEM_MESSAGES = {
  invalid_name: 'is not a valid header name',
  reserved: 'is set by Mailsystem and cannot be overridden',
  line_break: 'must not contain CR, LF or NUL',
  too_long: 'is longer than 998 characters',
} as const;

/** Custom headers as field problems (`headers.<name>`), for a 400. */
export const customHeaderProblems = (headers: Record<string, string> | undefined): FieldProblem[] =>
  checkCustomHeaders(headers ?? {}).map((p) => ({
    field: `headers.${p.header}`,
    message: HEADER_PROBLEM_MESSAGES[p.problem],
  }));

/**
 * What /send and /send/bulk check alike before anything else: custom headers, the idempotency key
 * (body or header, not two different ones) and send_at. Appends to `problems`; the caller throws
 * one 400 naming every field.
 */
export function commonSendFields(
  req: {
    idempotency_key?: string | undefined;
    send_at?: string | undefined;
    headers?: Record<string, string> | undefined;
  },
  headerKey: string | undefined,
  problems: FieldProblem[],
): { idempotencyKey: string | null; sendAt: Date | null } {
  problems.push(...customHeaderProblems(req.headers));
  if (req.idempotency_key !== undefined && headerKey !== undefined && req.idempotency_key !== headerKey) {
    problems.push({ field: 'idempotency_key', message: 'differs from the Idempotency-Key header' });
  }
  const sendAt = req.send_at === undefined ? null : new Date(req.send_at);
  if (sendAt && Number.isNaN(sendAt.getTime()))
    problems.push({ field: 'send_at', message: 'is not a valid time' });
  return { idempotencyKey: req.idempotency_key ?? headerKey ?? null, sendAt };
}

/** The latest version of an active template of the tenant, or a 422. */
export async function activeTemplate(
  templates: Pick<TemplatesRepository, 'getVersion'>,
  tenantId: string,
  templateId: string,
): Promise<TemplateVersionRow> {
  const template = isUuid(templateId) ? await templates.getVersion(tenantId, templateId) : null;
  if (!template) throw new AppError('unknown_template', undefined, { template_id: templateId });
  if (!template.is_active) throw new AppError('template_inactive', undefined, { template_id: templateId });
  return template;
}

/** Tracking choices count in "the same request" only when given, so older fingerprints still match. */
export const trackingFingerprint = (req: {
  track_opens?: boolean | undefined;
  track_clicks?: boolean | undefined;
}) => ({
  ...(req.track_opens !== undefined ? { track_opens: req.track_opens } : {}),
  ...(req.track_clicks !== undefined ? { track_clicks: req.track_clicks } : {}),
});
