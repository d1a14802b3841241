// NUL and unpaired UTF-16 surrogates cannot be stored by PostgreSQL (text or jsonb): refuse them at
// the door instead of failing deep inside a query.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching NUL is the point
const UNSAFE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Deeper than any real payload; deeper still would overflow the stack of JSON code downstream. */
export const MAX_JSON_DEPTH = 64;

/** Any NUL or surrogate at all: one cheap character class, before the exact check. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching NUL is the point
const SUSPECT = /[\u0000\ud800-\udfff]/;
const unsafe = (s: string) => SUSPECT.test(s) && UNSAFE.test(s);

/** Whether anything below `value` could not be stored, without building paths (the common answer is no). */
function anyUnstorable(value: unknown, depth: number): boolean {
  if (typeof value === 'string') return unsafe(value);
  if (value === null || typeof value !== 'object') return false;
  if (depth > MAX_JSON_DEPTH) return true;
  if (ArrayBuffer.isView(value)) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (anyUnstorable(value[i], depth + 1)) return true;
    return false;
  }
  for (const k in value) {
    if (!Object.hasOwn(value, k)) continue;
    if (unsafe(k) || anyUnstorable((value as Record<string, unknown>)[k], depth + 1)) return true;
  }
  return false;
}

/**
 * The dotted path of the first string (or key) that PostgreSQL could not store, or of the first
 * value nested deeper than MAX_JSON_DEPTH; null when everything can be stored. A 100,000-recipient
 * bulk body is walked once without building a path for each value; paths only when one is bad.
 */
export function findUnstorableText(value: unknown, path = '', depth = 0): string | null {
  if (path === '' && depth === 0 && !anyUnstorable(value, 0)) return null;
  return findPath(value, path, depth);
}

function findPath(value: unknown, path: string, depth: number): string | null {
  if (typeof value === 'string') return UNSAFE.test(value) ? path || '(value)' : null;
  if (value === null || typeof value !== 'object') return null;
  if (depth > MAX_JSON_DEPTH) return path || '(value)';
  // Raw bodies (webhooks) are bytes, checked by their own parsers; never walk them index by index.
  if (ArrayBuffer.isView(value)) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findPath(value[i], path ? `${path}.${i}` : String(i), depth + 1);
      if (found) return found;
    }
    return null;
  }
  for (const [k, v] of Object.entries(value)) {
    const p = path ? `${path}.${k}` : k;
    if (UNSAFE.test(k)) return p;
    const found = findPath(v, p, depth + 1);
    if (found) return found;
  }
  return null;
}
