import { useQuery } from '@tanstack/react-query';
import { ApiError, api, type Page } from '../../lib/api';

export interface Template {
  id: string;
  name: string;
  version: number;
  latest_version: number;
  is_active: boolean;
  subject_template: string;
  html_template: string;
  text_template: string | null;
  /** Sender defaults of this version. */
  from: { email: string; name: string | null } | null;
  reply_to: { email: string; name: string | null } | null;
  created_at: string;
  updated_at: string;
  version_created_at: string;
  /** Top-level variables this version needs (names the template sets itself excluded). */
  variables: string[];
}

export interface TemplateInput {
  name: string;
  subject_template: string;
  html_template: string;
  text_template: string | null;
  /** `"Name <address>"` or null: the tenant's default sender. */
  from?: string | null;
  reply_to?: string | null;
}

/** Template text that is not stored (the editor's draft), for `POST /templates/preview`. */
export type DraftInput = Omit<TemplateInput, 'name' | 'from' | 'reply_to'>;

export interface Preview {
  subject: string;
  html: string;
  text: string;
}

export const templatesApi = {
  list: (cursor?: string) => api<Page<Template>>('/templates', { query: { limit: 100, cursor } }),
  get: (id: string, version?: number) =>
    api<Template>(`/templates/${encodeURIComponent(id)}`, { query: { version } }),
  versions: (id: string) =>
    api<Page<{ version: number; created_at: string }>>(`/templates/${encodeURIComponent(id)}/versions`),
  create: (body: TemplateInput) => api<Template>('/templates', { method: 'POST', body }),
  update: (id: string, body: TemplateInput) =>
    api<Template>(`/templates/${encodeURIComponent(id)}`, { method: 'PUT', body }),
  deactivate: (id: string) => api<null>(`/templates/${encodeURIComponent(id)}`, { method: 'DELETE' }),
  preview: (id: string, variables: Record<string, unknown>, version?: number) =>
    api<Preview>(`/templates/${encodeURIComponent(id)}/preview`, {
      method: 'POST',
      body: version ? { variables, version } : { variables },
    }),
  previewDraft: (draft: DraftInput, variables: Record<string, unknown>) =>
    api<Preview>('/templates/preview', { method: 'POST', body: { ...draft, variables } }),
};

/** Every active template, for pickers (the first 100, newest first). */
export function useTemplateOptions() {
  return useQuery({
    queryKey: ['templates', 'list', null],
    queryFn: () => templatesApi.list(),
    select: (p) => p.items.filter((t) => t.is_active),
  });
}

/** The variables a template's latest version needs, as the API lists them with the template. */
export function useTemplateVariables(id: string | undefined) {
  return useQuery({
    queryKey: ['templates', 'one', id, null],
    enabled: Boolean(id),
    queryFn: () => templatesApi.get(id as string),
    select: (t) => t.variables,
  });
}

/**
 * The top-level variables a 422 `missing_variables` names (`user.email` is `user`'s: one input,
 * given as JSON); empty for any other error.
 */
export function missingVariables(error: unknown): string[] {
  if (!(error instanceof ApiError) || error.code !== 'missing_variables') return [];
  const missing = (error.details as { missing?: unknown } | undefined)?.missing;
  if (!Array.isArray(missing)) return [];
  return [...new Set(missing.map((m) => String(m).split(/[.[]/)[0] ?? ''))].filter(Boolean);
}

/** `names` followed by those of `more` it lacks; `names` itself when nothing is new. */
export function withNames(names: string[], more: string[]): string[] {
  const extra = more.filter((n) => !names.includes(n));
  return extra.length ? [...names, ...extra] : names;
}
