import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';
import { ApiError, client, unwrap } from './api';

/**
 * The template queries more than one feature reads (the templates pages, and the pickers of Send,
 * Bulk and Analytics). Every key starts with `templates`, so a template mutation refreshes them all.
 */
export const templateQueries = {
  all: ['templates'] as const,
  list: (cursor?: string) =>
    queryOptions({
      queryKey: [...templateQueries.all, 'list', cursor ?? null],
      queryFn: () => unwrap(client.GET('/templates', { params: { query: { limit: 100, cursor } } })),
      placeholderData: keepPreviousData,
    }),
  one: (id: string, version?: number) =>
    queryOptions({
      queryKey: [...templateQueries.all, 'one', id, version ?? null],
      queryFn: () => unwrap(client.GET('/templates/{id}', { params: { path: { id }, query: { version } } })),
    }),
  versions: (id: string) =>
    queryOptions({
      queryKey: [...templateQueries.all, 'versions', id],
      queryFn: () => unwrap(client.GET('/templates/{id}/versions', { params: { path: { id } } })),
    }),
};

/** Every active template, for pickers (the first 100, newest first). */
export function useTemplateOptions() {
  return useQuery({ ...templateQueries.list(), select: (p) => p.items.filter((t) => t.is_active) });
}

/** The variables a template's latest version needs, as the API lists them with the template. */
export function useTemplateVariables(id: string | undefined) {
  return useQuery({ ...templateQueries.one(id ?? ''), enabled: Boolean(id), select: (t) => t.variables });
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
