// NUL and unpaired UTF-16 surrogates cannot be stored by PostgreSQL (text or jsonb): refuse them at
// the door instead of failing deep inside a query.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching NUL is the point
const UNSAFE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Deeper than any real payload; deeper still would overflow the stack of JSON code downstream. */
export const MAX_JSON_DEPTH = 64;

/**
 * The dotted path of the first string (or key) that PostgreSQL could not store, or of the first
 * value nested deeper than MAX_JSON_DEPTH; null when everything can be stored.
 */
export function findUnstorableText(value: unknown, path = '', depth = 0): string | null {
  if (typeof value === 'string') return UNSAFE.test(value) ? path || '(value)' : null;
  if (value === null || typeof value !== 'object') return null;
  if (depth > MAX_JSON_DEPTH) return path || '(value)';
  // Raw bodies (webhooks) are bytes, checked by their own parsers; never walk them index by index.
  if (ArrayBuffer.isView(value)) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnstorableText(value[i], path ? `${path}.${i}` : String(i), depth + 1);
      if (found) return found;
    }
    return null;
  }
  for (const [k, v] of Object.entries(value)) {
    const p = path ? `${path}.${k}` : k;
    if (UNSAFE.test(k)) return p;
    const found = findUnstorableText(v, p, depth + 1);
    if (found) return found;
  }
  return null;
}
