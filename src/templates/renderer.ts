import { compile, type HtmlToTextOptions } from 'html-to-text';
import { Context, type Emitter, type FS, Liquid, type Template, toValue, toValueSync } from 'liquidjs';
import { AppError } from '../domain/errors.js';
import type { RenderedEmail, TemplateEngine, TemplateSource } from './renderer.port.js';

export interface TemplateRendererOptions {
  /** Longest accepted template, per field, in characters. */
  parseLimitChars?: number;
  /** Wall-clock budget for rendering all three parts of one email. */
  renderTimeLimitMs?: number;
  /** Largest accepted email: subject + html + text, in UTF-8 bytes. */
  outputLimitBytes?: number;
  /** How many parsed template versions to keep. */
  cacheSize?: number;
  /**
   * LiquidJS allocation budget for one email (roughly characters and array slots created by
   * ranges and filters). It stops `(1..100000000)` or runaway `append` loops before they eat the heap.
   */
  memoryLimit?: number;
}

type TemplateField = 'subject_template' | 'html_template' | 'text_template';

interface ParsedSource {
  subject: Template[];
  html: Template[];
  text: Template[] | null;
  /** Top-level names the templates expect from the caller, sorted; computed on first need. */
  globals?: string[];
}

const DEFAULTS = {
  parseLimitChars: 100_000,
  renderTimeLimitMs: 1000,
  outputLimitBytes: 2_000_000,
  cacheSize: 500,
  // Small enough that what it admits (a 4M-element range is 32 MB) stays far inside a render thread's heap.
  memoryLimit: 4_000_000,
} as const;

/**
 * Below this HTML size, an acceptance check does not derive the plain-text part: it would take
 * pathological markup (thousands of nested quotes or lists) for the text of so small an HTML part
 * to pass the output limit, and delivery still checks it.
 */
export const CHECK_DERIVED_TEXT_ABOVE_BYTES = 64 * 1024;

// Deeper than any sane email payload; the bound also stops cyclic objects from recursing forever.
const MAX_VARIABLE_DEPTH = 64;
const MAX_ERROR_MESSAGE_CHARS = 300;

const HTML_TO_TEXT_OPTIONS: HtmlToTextOptions = {
  wordwrap: 100,
  selectors: [
    { selector: 'a', options: { hideLinkHrefIfSameAsText: true } },
    // Tracking pixels and logos are noise in the plain-text part.
    { selector: 'img', format: 'skip' },
    ...(['h1', 'h2', 'h3', 'h4', 'h5', 'h6'] as const).map((selector) => ({
      selector,
      options: { uppercase: false },
    })),
  ],
};

// Compiled once: convert() would rebuild its selector tables for every email.
const htmlToText = compile(HTML_TO_TEXT_OPTIONS);

const noFileSystem = (): never => {
  throw new Error('templates cannot read files');
};

// Tenants' templates must never reach the disk: every entry point refuses, even though the tag
// overrides below mean LiquidJS should never get this far.
const REFUSING_FS: FS = {
  exists: async () => noFileSystem(),
  existsSync: noFileSystem,
  readFile: async () => noFileSystem(),
  readFileSync: noFileSystem,
  resolve: noFileSystem,
  contains: async () => noFileSystem(),
  containsSync: noFileSystem,
  dirname: noFileSystem,
  sep: '/',
  fallback: () => undefined,
};

const FILE_TAGS = ['include', 'render', 'layout'] as const;

/**
 * Filters that evaluate a tenant expression once per item. LiquidJS checks its render deadline only
 * between template nodes, so one of these over a large range with a long expression ran for tens
 * of seconds unchecked. Their work (items × expression length) is charged to the allocation budget
 * up front, so such a filter is refused before it starts; the pool's hard deadline is the backstop.
 */
const EXPRESSION_FILTERS = [
  'where_exp',
  'reject_exp',
  'group_by_exp',
  'has_exp',
  'find_index_exp',
  'find_exp',
] as const;

interface FilterThis {
  context: Pick<Context, 'memoryLimit'>;
}
type ExpressionFilter = (
  this: FilterThis,
  arr: unknown,
  itemName: unknown,
  exp: unknown,
) => Generator<unknown>;

function boundExpressionFilters(liquid: Liquid): void {
  for (const name of EXPRESSION_FILTERS) {
    const original = liquid.filters[name] as unknown as ExpressionFilter | undefined;
    if (typeof original !== 'function') continue;
    liquid.registerFilter(name, function* (this: FilterThis, arr: unknown, itemName: unknown, exp: unknown) {
      const items = Array.isArray(arr) ? arr.length : 1;
      this.context.memoryLimit.use(items * Math.max(1, String(exp).length));
      return yield* original.call(this, arr, itemName, exp);
    });
  }
}

/** LiquidJS's own limit messages (`<resource> limit exceeded`): parse length, render time, allocations. */
const LIMIT_MESSAGE = /\b(memory alloc|template render|parse length) limit exceeded/;

function createLiquid(parseLimit: number, escapeOutput: boolean): Liquid {
  const liquid = new Liquid({
    strictVariables: true,
    strictFilters: true,
    ownPropertyOnly: true,
    // lenientIf would let `{% if x %}` and `| default` swallow a missing `x`; a missing variable is
    // always the caller's error, and the static analysis would list such names anyway.
    lenientIf: false,
    jsTruthy: false,
    fs: REFUSING_FS,
    relativeReference: false,
    dynamicPartials: false,
    cache: false,
    parseLimit,
    ...(escapeOutput ? { outputEscape: 'escape' as const } : {}),
  });
  boundExpressionFilters(liquid);
  for (const name of FILE_TAGS) {
    // Refusing at parse time makes validate() reject the template, so it is never stored.
    liquid.registerTag(name, {
      parse() {
        throw new Error(`the "${name}" tag is not allowed: templates cannot load other templates or files`);
      },
      render() {
        throw new Error(`the "${name}" tag is not allowed`);
      },
    });
  }
  return liquid;
}

/** Thrown by BoundedEmitter; LiquidJS wraps it, so it is recognised by walking `originalError`. */
class OutputLimitError extends Error {
  constructor() {
    super('the rendered email exceeds the output size limit');
    this.name = 'OutputLimitError';
  }
}

function stringifyOutput(value: unknown): string {
  const v: unknown = toValue(value);
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.map(stringifyOutput).join('');
  return String(v);
}

/**
 * Collects output like LiquidJS's own emitter but stops as soon as the part cannot fit, so a
 * loop that prints a large variable a million times fails early instead of building a huge string.
 * A UTF-8 byte count is never smaller than the UTF-16 length, so comparing `length` is safe.
 */
class BoundedEmitter implements Emitter {
  buffer = '';
  constructor(private readonly maxChars: number) {}

  write(html: unknown): void {
    this.buffer += stringifyOutput(html);
    if (this.buffer.length > this.maxChars) throw new OutputLimitError();
  }
}

class LruCache<V> {
  private readonly entries = new Map<string, V>();
  constructor(private readonly max: number) {}

  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      // Map keeps insertion order; re-inserting marks the entry as most recently used.
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    if (this.max <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.max) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }
}

interface ErrorChainLink {
  name?: unknown;
  variableName?: unknown;
  originalError?: unknown;
}

/** LiquidJS wraps the real cause in `originalError`, sometimes more than once. */
function errorChain(e: unknown): ErrorChainLink[] {
  const chain: ErrorChainLink[] = [];
  let current: unknown = e;
  while (typeof current === 'object' && current !== null && chain.length < 10) {
    const link = current as ErrorChainLink;
    chain.push(link);
    current = link.originalError;
  }
  return chain;
}

function undefinedVariableOf(e: unknown): string | null {
  const chain = errorChain(e);
  if (!chain.some((link) => link.name === 'UndefinedVariableError')) return null;
  for (const link of chain) {
    if (link.name === 'InternalUndefinedVariableError' && typeof link.variableName === 'string') {
      return link.variableName;
    }
  }
  return '';
}

/** First line of the message only: LiquidJS puts source excerpts and stacks on later lines. */
function shortMessage(e: unknown): string {
  const raw = e instanceof Error ? e.message : String(e);
  const firstLine = raw.split('\n', 1)[0] ?? '';
  return firstLine.length > MAX_ERROR_MESSAGE_CHARS
    ? `${firstLine.slice(0, MAX_ERROR_MESSAGE_CHARS)}…`
    : firstLine;
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Copies the caller's variables into plain data. Functions, class instances (Drops, Maps, Buffers)
 * and symbols are dropped, so a template can only read data, never call code; keys are defined,
 * not assigned, so a JSON `__proto__` key stays an ordinary property.
 */
function toTemplateData(value: unknown, depth: number): unknown {
  if (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'number' ||
    typeof value === 'boolean'
  ) {
    return value;
  }
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'object') return undefined;
  if (depth >= MAX_VARIABLE_DEPTH) {
    throw new AppError('template_render_failed', 'The variables are nested too deeply', {
      error: `variables nested deeper than ${MAX_VARIABLE_DEPTH} levels`,
    });
  }
  if (value instanceof Date) return new Date(value.getTime());
  if (Array.isArray(value)) {
    return Array.from(value, (item: unknown) => toTemplateData(item, depth + 1) ?? null);
  }
  if (!isPlainObject(value)) return undefined;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const data = toTemplateData(item, depth + 1);
    if (data !== undefined) {
      Object.defineProperty(copy, key, { value: data, enumerable: true, writable: true, configurable: true });
    }
  }
  return copy;
}

/** A template that needs more time, memory or output than one email may use. */
function limitError(field: TemplateField, error: string): AppError {
  return new AppError('template_render_limit', `The ${field} exceeds a render limit: ${error}`, {
    field,
    error,
  });
}

interface RenderState {
  parsed: ParsedSource;
  scope: Record<string, unknown>;
  /** Shared by the parts so that time and allocation budgets cover the whole email. */
  limits: Pick<Context, 'memoryLimit' | 'renderLimit'> | undefined;
}

/**
 * Renders tenant-supplied Liquid templates in a sandbox: no file system, no access to JavaScript
 * prototypes, strict variables and filters, and bounded parse size, render time, allocations and output.
 */
export class TemplateRenderer {
  private readonly renderTimeLimitMs: number;
  private readonly outputLimitBytes: number;
  private readonly memoryLimit: number;
  private readonly plainLiquid: Liquid;
  private readonly htmlLiquid: Liquid;
  private readonly cache: LruCache<ParsedSource>;

  constructor(options: TemplateRendererOptions = {}) {
    const parseLimit = options.parseLimitChars ?? DEFAULTS.parseLimitChars;
    this.renderTimeLimitMs = options.renderTimeLimitMs ?? DEFAULTS.renderTimeLimitMs;
    this.outputLimitBytes = options.outputLimitBytes ?? DEFAULTS.outputLimitBytes;
    this.memoryLimit = options.memoryLimit ?? DEFAULTS.memoryLimit;
    this.cache = new LruCache(options.cacheSize ?? DEFAULTS.cacheSize);
    // LiquidJS applies outputEscape when a template is parsed, so HTML needs its own instance.
    this.plainLiquid = createLiquid(parseLimit, false);
    this.htmlLiquid = createLiquid(parseLimit, true);
  }

  validate(source: { subject: string; html: string; text: string | null }): void {
    this.parseAll(source, (field, error) => {
      return new AppError('template_invalid', `The ${field} does not parse: ${error}`, { field, error });
    });
  }

  /**
   * The top-level variable names the templates read from the caller (names set by assign, capture
   * or for inside the template are not included). Lets a bulk send check every recipient's
   * variables without rendering.
   */
  requiredVariables(source: TemplateSource): string[] {
    return this.globalsOf(this.parsedFor(source));
  }

  /**
   * Renders the email as delivery will and reports the same errors, for acceptance. The plain
   * text derived from the HTML (when the version has no text template) is only computed, to check
   * the output limit, when the HTML is larger than `CHECK_DERIVED_TEXT_ABOVE_BYTES`: it is most of
   * the render's cost and the HTML it comes from has already been checked.
   */
  async check(source: TemplateSource, variables: Record<string, unknown>): Promise<{ subject: string }> {
    const { subject } = await this.render(source, variables, { check: true });
    return { subject };
  }

  async render(
    source: TemplateSource,
    variables: Record<string, unknown>,
    opts: { check?: boolean } = {},
  ): Promise<RenderedEmail> {
    const parsed = this.parsedFor(source);

    const scope = (toTemplateData(variables, 0) ?? {}) as Record<string, unknown>;
    const state: RenderState = { parsed, scope, limits: undefined };

    let remaining = this.outputLimitBytes;
    const subject = await this.renderPart(state, 'subject_template', remaining);
    remaining -= Buffer.byteLength(subject);
    const html = await this.renderPart(state, 'html_template', remaining);
    remaining -= Buffer.byteLength(html);
    if (opts.check && parsed.text === null && Buffer.byteLength(html) <= CHECK_DERIVED_TEXT_ABOVE_BYTES) {
      return { subject, html, text: '' };
    }
    const text =
      parsed.text === null ? htmlToText(html) : await this.renderPart(state, 'text_template', remaining);
    if (Buffer.byteLength(text) > remaining) {
      throw this.outputTooLarge('text_template');
    }
    return { subject, html, text };
  }

  private parsedFor(source: TemplateSource): ParsedSource {
    let parsed = this.cache.get(source.cacheKey);
    if (!parsed) {
      // A stored version passed validate(); failing now is a render failure of this send, not a bad request.
      parsed = this.parseAll(source, (field, error) => {
        return new AppError('template_render_failed', `The ${field} could not be parsed: ${error}`, {
          field,
          error,
        });
      });
      this.cache.set(source.cacheKey, parsed);
    }
    return parsed;
  }

  private globalsOf(parsed: ParsedSource): string[] {
    if (!parsed.globals) {
      const names = new Set<string>();
      for (const templates of [parsed.subject, parsed.html, parsed.text]) {
        if (!templates) continue;
        for (const name of this.plainLiquid.globalVariablesSync(templates, { partials: false })) {
          names.add(name);
        }
      }
      parsed.globals = [...names].sort();
    }
    return parsed.globals;
  }

  private parseAll(
    source: { subject: string; html: string; text: string | null },
    toError: (field: TemplateField, error: string) => AppError,
  ): ParsedSource {
    const parse = (liquid: Liquid, field: TemplateField, template: string): Template[] => {
      try {
        return liquid.parse(template);
      } catch (e) {
        const error = shortMessage(e);
        if (LIMIT_MESSAGE.test(error)) throw limitError(field, error);
        throw toError(field, error);
      }
    };
    return {
      subject: parse(this.plainLiquid, 'subject_template', source.subject),
      html: parse(this.htmlLiquid, 'html_template', source.html),
      text: source.text === null ? null : parse(this.plainLiquid, 'text_template', source.text),
    };
  }

  private async renderPart(state: RenderState, field: TemplateField, maxBytes: number): Promise<string> {
    const { liquid, templates } = this.partOf(state.parsed, field);
    if (maxBytes < 0) throw this.outputTooLarge(field);
    // Synchronously: nothing a template can reach is asynchronous (no file system, no async
    // filters or tags), and driving LiquidJS's generators without a promise per step is several
    // times cheaper. The time and allocation limits are checked the same way in either mode.
    const ctx = new Context(
      state.scope,
      liquid.options,
      { sync: true, renderLimit: this.renderTimeLimitMs, memoryLimit: this.memoryLimit },
      { liquid, ...state.limits },
    );
    state.limits = { memoryLimit: ctx.memoryLimit, renderLimit: ctx.renderLimit };
    const emitter = new BoundedEmitter(maxBytes);
    try {
      toValueSync(liquid.renderer.renderTemplates(templates, ctx, emitter));
    } catch (e) {
      throw this.renderError(e, field, state);
    }
    if (Buffer.byteLength(emitter.buffer) > maxBytes) throw this.outputTooLarge(field);
    return emitter.buffer;
  }

  private partOf(parsed: ParsedSource, field: TemplateField): { liquid: Liquid; templates: Template[] } {
    switch (field) {
      case 'subject_template':
        return { liquid: this.plainLiquid, templates: parsed.subject };
      case 'html_template':
        return { liquid: this.htmlLiquid, templates: parsed.html };
      case 'text_template':
        return { liquid: this.plainLiquid, templates: parsed.text ?? [] };
    }
  }

  private renderError(e: unknown, field: TemplateField, state: RenderState): AppError {
    if (e instanceof AppError) return e;
    if (errorChain(e).some((link) => link instanceof OutputLimitError)) return this.outputTooLarge(field);
    const failed = undefinedVariableOf(e);
    if (failed !== null) return this.missingVariables(failed, state);
    const error = shortMessage(e);
    if (LIMIT_MESSAGE.test(error)) return limitError(field, error);
    return new AppError('template_render_failed', `The ${field} could not be rendered: ${error}`, {
      field,
      error,
    });
  }

  /** Reports every absent name at once so the client can fix its request in one round trip. */
  private missingVariables(failed: string, state: RenderState): AppError {
    const { parsed, scope } = state;
    const missing = new Set(this.globalsOf(parsed).filter((name) => !Object.hasOwn(scope, name)));
    // A missing property of a given object (`user.email` with `user` given) or a name the analysis
    // did not attribute to the caller is reported by its full path.
    const top = failed.split('.', 1)[0] ?? '';
    if (failed !== '' && !missing.has(top)) missing.add(failed);
    return new AppError('missing_variables', undefined, { missing: [...missing].sort() });
  }

  private outputTooLarge(field: TemplateField): AppError {
    return limitError(field, `the rendered email exceeds ${this.outputLimitBytes} bytes`);
  }
}

/**
 * The renderer on the calling thread, behind the engine port: for benchmarks and tests that
 * compare against the pool. The system itself renders through RenderPool, never on the event loop.
 */
export function inlineEngine(renderer: TemplateRenderer = new TemplateRenderer()): TemplateEngine {
  return {
    validate: async (source) => renderer.validate(source),
    requiredVariables: async (source) => renderer.requiredVariables(source),
    render: (source, variables) => renderer.render(source, variables),
    check: (source, variables) => renderer.check(source, variables),
    close: async () => {},
  };
}
