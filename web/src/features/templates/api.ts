import { keepPreviousData, queryOptions } from '@tanstack/react-query';
import { client, type Template, unwrap } from '../../lib/api';
import { type MutationConfigFor, useInvalidatingMutation } from '../../lib/query';
import { templateQueries } from '../../lib/template-queries';

export type { Template };

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

/**
 * The templates feature's queries: the shared ones (list, one, versions: the pickers of other
 * pages read them too, from lib/template-queries) and the editor's live preview.
 */
export const templatesQueries = {
  ...templateQueries,
  draftPreview: (request: string) =>
    queryOptions({
      queryKey: [...templateQueries.all, 'draft-preview', request],
      queryFn: () => {
        const r = JSON.parse(request) as { draft: DraftInput; variables: Record<string, unknown> };
        return unwrap(client.POST('/templates/preview', { body: { ...r.draft, variables: r.variables } }));
      },
      placeholderData: keepPreviousData,
      retry: false,
      staleTime: Number.POSITIVE_INFINITY,
    }),
};

const save = (v: { id: string | null; body: TemplateInput }) =>
  v.id
    ? unwrap(client.PUT('/templates/{id}', { params: { path: { id: v.id } }, body: v.body }))
    : unwrap(client.POST('/templates', { body: v.body }));
const deactivate = (id: string) => unwrap(client.DELETE('/templates/{id}', { params: { path: { id } } }));

export const useSaveTemplate = (config?: MutationConfigFor<typeof save>) =>
  useInvalidatingMutation(save, templateQueries.all, config);
export const useDeactivateTemplate = (config?: MutationConfigFor<typeof deactivate>) =>
  useInvalidatingMutation(deactivate, templateQueries.all, config);
