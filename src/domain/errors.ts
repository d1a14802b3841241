/**
 * The one error catalogue. Every error a client can see is an entry here: a stable snake_case
 * code, an HTTP status and a default message. Services throw `AppError`; the API's error handler
 * turns it into `{"error": {"code", "message", "details"}}`.
 */
export const ERROR_CATALOGUE = {
  // 400
  validation_failed: { status: 400, message: 'The request does not match the schema' },
  malformed_json: { status: 400, message: 'The request body is not valid JSON' },
  invalid_cursor: { status: 400, message: 'The cursor is not one this API issued' },
  invalid_header: { status: 400, message: 'A header value contains a forbidden character or name' },
  invalid_recipient: { status: 400, message: 'The recipient address is not a valid email address' },
  template_invalid: { status: 400, message: 'The template does not parse' },
  invalid_token: { status: 400, message: 'The token is not valid' },
  invalid_signature_format: { status: 400, message: 'The signed body does not match the schema' },
  invalid_url: { status: 400, message: 'The URL is not valid (a bad percent-encoding)' },
  // 401
  unauthorized: { status: 401, message: 'A valid API key is required (Authorization: Bearer <key>)' },
  admin_unauthorized: { status: 401, message: 'A valid admin token is required' },
  invalid_signature: { status: 401, message: 'The webhook signature is missing, stale or wrong' },
  // 403
  tenant_mismatch: { status: 403, message: "tenant_id does not match the API key's tenant" },
  tenant_suspended: { status: 403, message: 'The tenant is suspended' },
  admin_disabled: { status: 403, message: 'The admin API is disabled: ADMIN_API_TOKEN is not set' },
  // 404
  not_found: { status: 404, message: 'Not found' },
  route_not_found: { status: 404, message: 'No such route' },
  email_not_found: { status: 404, message: 'Email not found' },
  template_not_found: { status: 404, message: 'Template not found' },
  tenant_not_found: { status: 404, message: 'Tenant not found' },
  api_key_not_found: { status: 404, message: 'API key not found' },
  dead_letter_not_found: { status: 404, message: 'Dead letter not found' },
  bulk_job_not_found: { status: 404, message: 'Bulk job not found' },
  suppression_not_found: { status: 404, message: 'Suppression not found' },
  unknown_provider: { status: 404, message: 'Unknown provider' },
  domain_not_found: { status: 404, message: 'Domain not found' },
  inbox_message_not_found: { status: 404, message: 'Inbox message not found' },
  webhook_endpoint_not_found: { status: 404, message: 'Webhook endpoint not found' },
  webhook_delivery_not_found: { status: 404, message: 'Webhook delivery not found' },
  tracking_token_not_found: { status: 404, message: 'Not found' },
  // 405
  method_not_allowed: { status: 405, message: 'Method not allowed' },
  // 409
  conflict: { status: 409, message: 'The resource is in a state that does not allow this' },
  tenant_exists: { status: 409, message: 'A tenant with this id already exists' },
  email_not_cancellable: { status: 409, message: 'Only a scheduled email can be cancelled' },
  dead_letter_already_retried: { status: 409, message: 'This dead letter was already retried' },
  bulk_job_not_cancellable: { status: 409, message: 'The bulk job has already finished' },
  domain_exists: { status: 409, message: 'This tenant already has this domain' },
  suppression_recipient_choice: {
    status: 409,
    message:
      'The recipient unsubscribed or complained: remove this entry only with override_recipient_choice=true (the removal is recorded)',
  },
  domain_not_verified: { status: 409, message: 'The domain is not verified' },
  dkim_rotation_pending: {
    status: 409,
    message: 'A DKIM rotation is already waiting for its record to be published',
  },
  webhook_delivery_pending: {
    status: 409,
    message: 'This delivery is still being attempted; it can be retried once it has finished',
  },
  // 413, 414, 415
  payload_too_large: { status: 413, message: 'The request body is too large' },
  attachments_too_large: {
    status: 413,
    message: 'The attachments are larger than this installation accepts',
  },
  uri_too_long: { status: 414, message: 'A path parameter is longer than this API accepts' },
  unsupported_media_type: { status: 415, message: 'The request body must be application/json' },
  // 422
  unknown_template: { status: 422, message: 'The template does not exist or is inactive' },
  template_inactive: { status: 422, message: 'The template is inactive' },
  missing_variables: { status: 422, message: 'The template needs variables that were not given' },
  template_render_failed: { status: 422, message: 'The template could not be rendered' },
  template_render_limit: {
    status: 422,
    message: 'The template needs more time, memory or output than one email may use',
  },
  invalid_rendered_header: {
    status: 422,
    message: 'The rendered subject contains a line break or NUL, which cannot go in a header',
  },
  attachment_type_refused: {
    status: 422,
    message: 'An attachment has a file type that providers refuse (executable content)',
  },
  unknown_provider_setting: {
    status: 422,
    message: 'A provider named is not one this installation has configured',
  },
  recipient_suppressed: { status: 422, message: 'The recipient is on the suppression list' },
  idempotency_key_reused: {
    status: 422,
    message: 'This idempotency key was already used with a different request body',
  },
  sender_not_verified: {
    status: 422,
    message: "The sender's domain is not a verified domain of this tenant",
  },
  invalid_webhook_url: {
    status: 422,
    message: 'The webhook URL cannot be used (https, and a public address, are required)',
  },
  // 429
  rate_limited: { status: 429, message: 'Too many requests' },
  // 500, 503
  internal_error: { status: 500, message: 'Internal server error' },
  service_unavailable: { status: 503, message: 'A dependency is unavailable' },
  secrets_key_missing: {
    status: 503,
    message:
      'SECRETS_KEY is not set, so this installation cannot store DKIM keys; set it (32 bytes, base64 or hex) and restart',
  },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, message?: string, details?: unknown, headers?: Record<string, string>) {
    const entry = ERROR_CATALOGUE[code];
    super(message ?? entry.message);
    this.name = 'AppError';
    this.code = code;
    this.status = entry.status;
    this.details = details;
    this.headers = headers;
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;
