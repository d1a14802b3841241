import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { AppError, ERROR_CATALOGUE, type ErrorCode } from '../../domain/errors.js';
import { fieldErrors } from '../validation.js';

export function sendError(
  reply: FastifyReply,
  code: ErrorCode,
  message?: string,
  details?: unknown,
  headers?: Record<string, string>,
) {
  const entry = ERROR_CATALOGUE[code];
  if (headers) reply.headers(headers);
  return reply
    .code(entry.status)
    .type('application/json; charset=utf-8')
    .send({
      error: { code, message: message ?? entry.message, ...(details === undefined ? {} : { details }) },
    });
}

const FRAMEWORK_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'validation_failed',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed_json',
};

/**
 * PostgreSQL away (refused, restarting, out of connections, a connection dropped mid-query): the
 * client should come back later, so a 503, not a 500.
 */
function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : '';
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', '57P01', '57P02', '57P03', '53300'].includes(
      code,
    ) ||
    code.startsWith('08') ||
    /timeout exceeded when trying to connect|Connection terminated/i.test(message)
  );
}

/**
 * One error handler with three branches: ours (AppError), the framework's (validation, body
 * parsing, limits), and everything else — logged with its stack, answered as a generic 500
 * that never carries a stack trace or SQL text.
 */
export function registerErrorHandling(app: FastifyInstance) {
  app.setErrorHandler((err: FastifyError | AppError | Error, req, reply) => {
    if (err instanceof AppError) {
      if (err.status >= 500) req.log.error({ err }, 'service error');
      return sendError(reply, err.code, err.message, err.details, err.headers);
    }
    const fe = err as FastifyError;
    if (fe.validation) {
      return sendError(
        reply,
        'validation_failed',
        undefined,
        fieldErrors(fe.validation as never, fe.validationContext),
      );
    }
    const mapped = fe.code ? FRAMEWORK_CODES[fe.code] : undefined;
    if (mapped) return sendError(reply, mapped);
    if (err instanceof SyntaxError && fe.statusCode === 400) return sendError(reply, 'malformed_json');
    const status = fe.statusCode ?? 500;
    if (status === 429) return sendError(reply, 'rate_limited');
    if (status >= 400 && status < 500) {
      const code: ErrorCode =
        status === 404 ? 'not_found' : status === 405 ? 'method_not_allowed' : 'validation_failed';
      return sendError(reply, code, status === 413 ? ERROR_CATALOGUE.payload_too_large.message : undefined);
    }
    if (isDatabaseUnavailable(err)) {
      req.log.warn({ err }, 'database unavailable');
      return sendError(
        reply,
        'service_unavailable',
        'The database is unavailable; try again shortly',
        undefined,
        {
          'retry-after': '5',
        },
      );
    }
    req.log.error({ err }, 'unhandled error');
    return sendError(reply, 'internal_error');
  });

  app.setNotFoundHandler((req, reply) =>
    sendError(reply, 'route_not_found', `No route ${req.method} ${req.url.split('?')[0]}`),
  );
}
