/**
 * Small readers for environment variables. Each reader records a problem instead of throwing, so
 * that start-up can name every bad variable at once.
 */
export type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  optionalString(name: string): string | null {
    return this.raw(name) ?? null;
  }

  number(
    name: string,
    fallback: number,
    opts: { min?: number; max?: number; integer?: boolean } = {},
  ): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    const { min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY, integer = false } = opts;
    if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
      const kind = integer ? 'an integer' : 'a number';
      const range = `${Number.isFinite(min) ? ` >= ${min}` : ''}${Number.isFinite(max) ? ` <= ${max}` : ''}`;
      this.problems.push(`${name} must be ${kind}${range} (got "${v}")`);
      return fallback;
    }
    return n;
  }

  int(name: string, fallback: number, opts: { min?: number; max?: number } = {}): number {
    return this.number(name, fallback, { ...opts, integer: true });
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    const s = v.toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(s)) return true;
    if (['0', 'false', 'no', 'off'].includes(s)) return false;
    this.problems.push(`${name} must be true or false (got "${v}")`);
    return fallback;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if ((allowed as readonly string[]).includes(v)) return v as T;
    this.problems.push(`${name} must be one of ${allowed.join(', ')} (got "${v}")`);
    return fallback;
  }

  url(name: string, fallback: string | null, protocols: string[]): string | null {
    const v = this.raw(name) ?? fallback;
    if (v === null) return null;
    try {
      const u = new URL(v);
      if (!protocols.includes(u.protocol)) {
        this.problems.push(`${name} must be a ${protocols.join(' or ')} URL (got "${redact(v)}")`);
      }
    } catch {
      this.problems.push(`${name} is not a valid URL (got "${redact(v)}")`);
    }
    return v;
  }

  list(name: string, fallback: string[]): string[] {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    return v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }

  /** Every variable whose name starts with `prefix`, keyed by the rest of the name in lower case. */
  withPrefix(prefix: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.env)) {
      if (k.startsWith(prefix) && v !== undefined && v.trim() !== '') {
        out[k.slice(prefix.length).toLowerCase()] = v.trim();
      }
    }
    return out;
  }
}

/** Hide the password part of a URL in messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]+)@/, '//$1:***@');
}
