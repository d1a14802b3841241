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
  created_at: string;
  updated_at: string;
  version_created_at: string;
}

export interface TemplateInput {
  name: string;
  subject_template: string;
  html_template: string;
  text_template: string | null;
}

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
};

/** Every active template, for pickers (the first 100, newest first). */
export function useTemplateOptions() {
  return useQuery({
    queryKey: ['templates', 'list', null],
    queryFn: () => templatesApi.list(),
    select: (p) => p.items.filter((t) => t.is_active),
  });
}

/**
 * The variables a template needs, asked of the template engine itself: a preview with no
 * variables answers 422 `missing_variables` naming every top-level variable it lacks.
 */
export function useTemplateVariables(id: string | undefined) {
  return useQuery({
    queryKey: ['templates', 'variables', id],
    enabled: Boolean(id),
    queryFn: async (): Promise<string[]> => {
      try {
        await templatesApi.preview(id as string, {});
        return [];
      } catch (e) {
        const missing = (e as ApiError).details as { missing?: unknown } | undefined;
        if (e instanceof ApiError && e.code === 'missing_variables' && Array.isArray(missing?.missing)) {
          return missing.missing.map(String);
        }
        throw e;
      }
    },
  });
}
