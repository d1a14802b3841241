import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsImport from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsImport as unknown as (ajv: Ajv) => Ajv;

/**
 * Two validators: bodies are checked strictly (no type coercion, unknown fields refused, every
 * error reported), query strings and path parameters are coerced from strings.
 */
const strict = addFormats(
  new Ajv({ allErrors: true, coerceTypes: false, removeAdditional: false, useDefaults: true, strict: false }),
);
const coercing = addFormats(
  new Ajv({ allErrors: true, coerceTypes: true, removeAdditional: false, useDefaults: true, strict: false }),
);

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? strict : coercing;
  return ajv.compile(schema as object) as ValidateFunction;
};

export interface FieldError {
  field: string;
  message: string;
}

/** Ajv errors as `{field, message}` with dotted field paths (`recipient.email`). */
export function fieldErrors(errors: ErrorObject[], part: string | undefined): FieldError[] {
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const e of errors) {
    let path = e.instancePath
      .split('/')
      .slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .join('.');
    let message = e.message ?? 'is invalid';
    const params = e.params as Record<string, unknown>;
    if (e.keyword === 'required') {
      path = path ? `${path}.${String(params.missingProperty)}` : String(params.missingProperty);
      message = 'is required';
    } else if (e.keyword === 'additionalProperties') {
      path = path ? `${path}.${String(params.additionalProperty)}` : String(params.additionalProperty);
      message = 'is not a known field';
    }
    const field = path || (part === 'body' ? '(body)' : `(${part ?? 'request'})`);
    const key = `${field}:${message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push({ field, message });
    }
  }
  return out;
}
