import { availableParallelism } from 'node:os';
import { LRUCache } from 'lru-cache';
import pLimit, { type LimitFunction } from 'p-limit';
import { Piscina } from 'piscina';
import { AppError } from '../domain/errors.js';
import type { OutgoingMessage } from '../providers/email-provider.js';
import type { BatchItem, ItemReply, RenderReply, RenderTask } from './render-worker.js';
import type { TemplateRendererOptions } from './renderer.js';
import type { RenderedEmail, TemplateEngine, TemplateSource, TemplateText } from './renderer.port.js';

export interface RenderPoolOptions {
  /** Worker threads; each renders one email at a time. */
  threads?: number;
  /** Hard deadline of one task: past it, the thread running it is ended and the task refused. */
  deadlineMs?: number;
  /** Renders of one tenant that may run at once; the rest wait behind them, not in front of others. */
  perTenant?: number;
  /** Old-generation heap of each thread, in MB: a template that needs more ends its thread. */
  memoryMb?: number;
  /** The in-thread renderer's own bounds (its time limit defaults to half the deadline). */
  renderer?: TemplateRendererOptions;
}

export const defaultRenderThreads = (): number => Math.max(2, Math.min(4, availableParallelism()));

const SHARED_BUCKET = '';

/**
 * Most items one task carries (concurrent renders of a tenant share a task): acceptance checks
 * keep only a subject each, whole emails (and built messages) keep their HTML and text (their
 * bytes) until the task answers, so fewer of those share the thread's capped heap.
 */
const MAX_CHECKS_PER_TASK = 64;
const MAX_EMAILS_PER_TASK = 8;

/** The first items of a queue one task takes (removed from the queue). */
function takeBatch(items: PendingRender[]): PendingRender[] {
  let emails = 0;
  let n = 0;
  while (n < items.length && n < MAX_CHECKS_PER_TASK) {
    if ((items[n] as PendingRender).kind !== 'check') {
      if (emails === MAX_EMAILS_PER_TASK) break;
      emails++;
    }
    n++;
  }
  return items.splice(0, n);
}

type PendingRender = (
  | { kind: 'check' | 'render'; source: TemplateSource; variables: Record<string, unknown> }
  | { kind: 'mime'; message: OutgoingMessage }
) & {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
};

/**
 * The worker file, beside this one: compiled JavaScript in dist/, TypeScript when the system runs
 * under tsx or Vitest — then the threads load tsx themselves unless the process already did.
 */
function workerEntry(): { filename: string; execArgv?: string[] } {
  const typescript = import.meta.url.endsWith('.ts');
  const filename = new URL(typescript ? './render-worker.ts' : './render-worker.js', import.meta.url).href;
  const hasTsx = process.execArgv.some((arg) => arg.includes('tsx'));
  // Without execArgv a thread inherits the process's flags (and so a loader tsx started with).
  return typescript && !hasTsx
    ? { filename, execArgv: [...process.execArgv, '--import', 'tsx'] }
    : { filename };
}

const isAbort = (e: unknown) => e instanceof Error && (e.name === 'AbortError' || e.name === 'TimeoutError');
const isOutOfMemory = (e: unknown) =>
  typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'ERR_WORKER_OUT_OF_MEMORY';

/**
 * Renders tenant templates off the event loop, in a pool of worker threads (piscina). A render
 * that outlives its deadline has its thread ended (LiquidJS checks time only between nodes, so a
 * single filter could otherwise run on unchecked); each thread's heap is capped. Tasks enter the
 * pool only when a thread is free, so the deadline counts rendering, not waiting, and each tenant
 * has at most `perTenant` tasks in flight.
 */
export class RenderPool implements TemplateEngine {
  private pool: Piscina | null = null;
  private readonly threads: number;
  private readonly deadlineMs: number;
  private readonly perTenant: number;
  private readonly memoryMb: number;
  private readonly rendererOptions: TemplateRendererOptions;
  private readonly free: LimitFunction;
  private readonly tenants = new Map<string, LimitFunction>();
  private closed = false;
  /** Renders waiting for their tenant's turn, by tenant; `scheduled`: a task will take them. */
  private readonly waiting = new Map<string, { items: PendingRender[]; scheduled: boolean }>();
  /** Versions are immutable, so the names they need are too: a template list asks the threads once. */
  private readonly variables = new LRUCache<string, string[]>({ max: 2000 });

  constructor(options: RenderPoolOptions = {}) {
    this.threads = Math.max(1, options.threads ?? defaultRenderThreads());
    this.deadlineMs = options.deadlineMs ?? 2000;
    this.perTenant = Math.max(1, options.perTenant ?? Math.max(1, Math.floor(this.threads / 2)));
    this.memoryMb = options.memoryMb ?? 128;
    this.rendererOptions = {
      renderTimeLimitMs: Math.max(1, Math.floor(this.deadlineMs / 2)),
      ...options.renderer,
    };
    this.free = pLimit(this.threads);
  }

  async validate(source: TemplateText & { tenantId?: string }): Promise<void> {
    const text = { subject: source.subject, html: source.html, text: source.text };
    await this.run(source.tenantId, { op: 'validate', source: text });
  }

  async requiredVariables(source: TemplateSource): Promise<string[]> {
    const known = source.draft ? undefined : this.variables.get(source.cacheKey);
    if (known) return known;
    const names = (await this.run(source.tenantId, { op: 'variables', source })) as string[];
    if (!source.draft) this.variables.set(source.cacheKey, names);
    return names;
  }

  /** Renders one whole email (subject, HTML, text), in a batch with the tenant's others. */
  render(source: TemplateSource, variables: Record<string, unknown>): Promise<RenderedEmail> {
    return this.enqueue('render', source, variables) as Promise<RenderedEmail>;
  }

  /** Renders for acceptance (TemplateRenderer.check), in a batch with the tenant's others. */
  check(source: TemplateSource, variables: Record<string, unknown>): Promise<{ subject: string }> {
    return this.enqueue('check', source, variables) as Promise<{ subject: string }>;
  }

  /**
   * Builds a rendered message into the bytes a provider sends (`buildMime`: MIME, DKIM signature),
   * in a thread, in a batch with the tenant's other work: the largest cost of a delivery after
   * the render, kept off the event loop.
   */
  async mime(message: OutgoingMessage, tenantId?: string): Promise<Buffer> {
    const bytes = await new Promise<Uint8Array>((resolve, reject) => {
      this.enqueueAll(tenantId ?? SHARED_BUCKET, [
        { kind: 'mime', message, resolve: resolve as (v: unknown) => void, reject },
      ]);
    });
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /**
   * Renders of one tenant that arrive while its renders are busy wait together and go to a thread
   * as one task (see takeBatch): one round trip for many emails, in the tenant's own
   * turn. The deadline counts each render; one that outruns it has its thread ended and is
   * refused, the rest of its task run again.
   */
  private enqueue(
    kind: 'check' | 'render',
    source: TemplateSource,
    variables: Record<string, unknown>,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.enqueueAll(source.tenantId ?? SHARED_BUCKET, [{ kind, source, variables, resolve, reject }]);
    });
  }

  private enqueueAll(key: string, items: PendingRender[]): void {
    let queue = this.waiting.get(key);
    if (!queue) {
      queue = { items: [], scheduled: false };
      this.waiting.set(key, queue);
    }
    queue.items.push(...items);
    if (!queue.scheduled) {
      queue.scheduled = true;
      void this.drain(key, queue);
    }
  }

  private async drain(key: string, queue: { items: PendingRender[]; scheduled: boolean }) {
    const limit = this.tenantLimit(key);
    let batch: PendingRender[] = [];
    try {
      await limit(() =>
        this.free(async () => {
          batch = takeBatch(queue.items);
          queue.scheduled = false;
          if (queue.items.length > 0) {
            queue.scheduled = true;
            void this.drain(key, queue);
          } else if (this.waiting.get(key) === queue) this.waiting.delete(key);
          if (batch.length > 0) await this.runBatch(key, batch);
        }),
      );
    } catch (e) {
      for (const item of batch) item.reject(e);
    } finally {
      if (limit.activeCount === 0 && limit.pendingCount === 0) this.tenants.delete(key);
    }
  }

  private async runBatch(key: string, batch: PendingRender[]): Promise<void> {
    const sources: TemplateSource[] = [];
    const index = new Map<string, number>();
    const items = batch.map((b): BatchItem => {
      if (b.kind === 'mime') return { kind: 'mime', message: b.message };
      const k = `${b.source.draft ? 'draft:' : ''}${b.source.cacheKey}`;
      let i = index.get(k);
      if (i === undefined) {
        i = sources.push(b.source) - 1;
        index.set(k, i);
      }
      return { source: i, variables: b.variables, kind: b.kind };
    });
    const started = new BigInt64Array(new SharedArrayBuffer(16));
    let replies: ItemReply[];
    try {
      const reply = await this.runNow({ op: 'batch', sources, items }, started);
      replies = reply.ok ? (reply.value as ItemReply[]) : [];
    } catch (e) {
      if (!(e instanceof AppError) || e.code !== 'template_render_limit' || batch.length === 1) throw e;
      // The thread was ended at one render: that one is refused, the others go round again.
      const at = Number(Atomics.load(started, 1));
      batch[at]?.reject(e);
      const rest = batch.filter((_, i) => i !== at);
      if (rest.length > 0) this.enqueueAll(key, rest);
      return;
    }
    for (const [i, item] of batch.entries()) {
      const reply = replies[i];
      if (reply?.ok) item.resolve(reply.value);
      else if (reply && 'error' in reply)
        item.reject(new AppError(reply.error.code, reply.error.message, reply.error.details));
      else item.reject(new Error(reply ? reply.fault : 'the render thread gave no answer'));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    this.pool = null;
    await pool?.destroy();
  }

  /** Tasks waiting for a thread or running. */
  get pending(): number {
    return this.free.activeCount + this.free.pendingCount;
  }

  private piscina(): Piscina {
    if (this.closed) throw new Error('the render pool is closed');
    this.pool ??= new Piscina({
      ...workerEntry(),
      minThreads: this.threads,
      maxThreads: this.threads,
      idleTimeout: Number.POSITIVE_INFINITY,
      resourceLimits: { maxOldGenerationSizeMb: this.memoryMb },
      workerData: { renderer: this.rendererOptions },
    });
    return this.pool;
  }

  private tenantLimit(tenantId: string): LimitFunction {
    let limit = this.tenants.get(tenantId);
    if (!limit) {
      limit = pLimit(this.perTenant);
      this.tenants.set(tenantId, limit);
    }
    return limit;
  }

  private async run(tenantId: string | undefined, task: RenderTask): Promise<unknown> {
    const key = tenantId ?? SHARED_BUCKET;
    const limit = this.tenantLimit(key);
    try {
      const reply = await limit(() => this.free(() => this.runNow(task)));
      if (reply.ok) return reply.value;
      throw new AppError(reply.error.code, reply.error.message, reply.error.details);
    } finally {
      if (limit.activeCount === 0 && limit.pendingCount === 0) this.tenants.delete(key);
    }
  }

  private async runNow(
    task: RenderTask,
    // The thread writes the time it starts the task here: the deadline counts rendering, not a
    // fresh thread's start-up (which, after a thread was ended, can take longer than a render).
    started = new BigInt64Array(new SharedArrayBuffer(8)),
  ): Promise<RenderReply> {
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const arm = (ms: number) => {
      timer = setTimeout(() => {
        const at = Number(Atomics.load(started, 0));
        if (at === 0) return arm(this.deadlineMs);
        const left = at + this.deadlineMs - Date.now();
        if (left > 0) return arm(left);
        abort.abort();
      }, ms);
      timer.unref();
    };
    arm(this.deadlineMs);
    try {
      return (await this.piscina().run({ ...task, started }, { signal: abort.signal })) as RenderReply;
    } catch (e) {
      if (isAbort(e)) {
        throw new AppError('template_render_limit', undefined, {
          error: `the render ran past its ${this.deadlineMs} ms deadline`,
        });
      }
      if (isOutOfMemory(e)) {
        throw new AppError('template_render_limit', undefined, {
          error: `the render needed more than ${this.memoryMb} MB of memory`,
        });
      }
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }
}
