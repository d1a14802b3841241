// The body of one render-pool thread (see render-pool.ts). Each thread keeps its own parsed
// templates, cached per version, so a hot template is parsed once per thread.
import { workerData } from 'piscina';
import { AppError } from '../domain/errors.js';
import { TemplateRenderer, type TemplateRendererOptions } from './renderer.js';
import type { TemplateSource, TemplateText } from './renderer.port.js';

export type RenderTask =
  | { op: 'validate'; source: TemplateText }
  | { op: 'variables'; source: TemplateSource }
  | { op: 'render'; source: TemplateSource; variables: Record<string, unknown> };

/** Where the thread records when it began the task (epoch ms), for the pool's deadline. */
export type StartedTask = RenderTask & { started?: BigInt64Array };

/** AppError does not survive the thread boundary as a class; its fields do. */
export type RenderReply =
  | { ok: true; value: unknown }
  | { ok: false; error: { code: AppError['code']; message: string; details: unknown } };

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
      case 'render':
        return { ok: true, value: await rendererFor(task.source).render(task.source, task.variables) };
    }
  } catch (e) {
    if (e instanceof AppError) {
      return { ok: false, error: { code: e.code, message: e.message, details: e.details } };
    }
    throw e;
  }
}
