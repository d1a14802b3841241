// The body of one render-pool thread (see render-pool.ts). Each thread keeps its own parsed
// templates, cached per version, so a hot template is parsed once per thread.
import { workerData } from 'piscina';
import { AppError } from '../domain/errors.js';
import type { OutgoingMessage } from '../providers/email-provider.js';
import { buildMime } from '../providers/mime.js';
import { TemplateRenderer, type TemplateRendererOptions } from './renderer.js';
import type { TemplateSource, TemplateText } from './renderer.port.js';

export type RenderTask =
  | { op: 'validate'; source: TemplateText }
  | { op: 'variables'; source: TemplateSource }
  | {
      op: 'batch';
      /** Each version once; items point at theirs by index. */
      sources: TemplateSource[];
      /**
       * `check`: an acceptance check (TemplateRenderer.check); `render`: the whole email; `mime`:
       * a rendered message built into its MIME bytes (and DKIM-signed), as providers send it.
       */
      items: BatchItem[];
    };

export type BatchItem =
  | { kind: 'check' | 'render'; source: number; variables: Record<string, unknown> }
  | { kind: 'mime'; message: OutgoingMessage };

/**
 * Where the thread records when it began the task (epoch ms), for the pool's deadline; for a
 * batch, when it began the current item, and that item's index in the second slot.
 */
export type StartedTask = RenderTask & { started?: BigInt64Array };

/** AppError does not survive the thread boundary as a class; its fields do. */
export type RenderReply =
  | { ok: true; value: unknown }
  | { ok: false; error: { code: AppError['code']; message: string; details: unknown } };

/** The reply for one item of a batch: also a fault that is not an AppError. */
export type ItemReply = RenderReply | { ok: false; fault: string };

const options = ((workerData as { renderer?: TemplateRendererOptions } | undefined)?.renderer ??
  {}) as TemplateRendererOptions;
const stored = new TemplateRenderer(options);
// An editor's keystrokes must not push stored versions out of the cache.
const drafts = new TemplateRenderer({ ...options, cacheSize: 50 });

const rendererFor = (source: { draft?: boolean }) => (source.draft ? drafts : stored);

export default async function renderTask(task: StartedTask): Promise<RenderReply> {
  if (task.started) Atomics.store(task.started, 0, BigInt(Date.now()));
  try {
    switch (task.op) {
      case 'validate':
        stored.validate(task.source);
        return { ok: true, value: null };
      case 'variables':
        return { ok: true, value: rendererFor(task.source).requiredVariables(task.source) };
      case 'batch': {
        const replies: ItemReply[] = [];
        for (const [i, item] of task.items.entries()) {
          if (task.started) {
            Atomics.store(task.started, 1, BigInt(i));
            Atomics.store(task.started, 0, BigInt(Date.now()));
          }
          try {
            if (item.kind === 'mime') {
              replies.push({ ok: true, value: await buildMime(item.message) });
              continue;
            }
            const source = task.sources[item.source] as TemplateSource;
            const renderer = rendererFor(source);
            replies.push({
              ok: true,
              value:
                item.kind === 'check'
                  ? await renderer.check(source, item.variables)
                  : await renderer.render(source, item.variables),
            });
          } catch (e) {
            replies.push(failure(e));
          }
        }
        return { ok: true, value: replies };
      }
    }
  } catch (e) {
    if (e instanceof AppError) {
      return { ok: false, error: { code: e.code, message: e.message, details: e.details } };
    }
    throw e;
  }
}

/** One item of a batch: an AppError as a reply; anything else as the fault it is. */
function failure(e: unknown): ItemReply {
  if (e instanceof AppError) {
    return { ok: false, error: { code: e.code, message: e.message, details: e.details } };
  }
  return { ok: false, fault: e instanceof Error ? e.message : String(e) };
}
