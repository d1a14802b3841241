import type { CursorKey } from '../db/cursor.js';
import type { TemplateContent, TemplatesRepository, TemplateVersionRow } from '../db/templates.repository.js';
import { AppError } from '../domain/errors.js';
import { sha256Hex } from '../lib/canonical-json.js';
import { isUuid, newId } from '../lib/ids.js';
import type { TemplateEngine } from '../templates/renderer.port.js';
import { renderChecked, templateSource } from './rendering.js';
import type { FieldProblem } from './request-checks.js';
import { type SenderFields, type SendersService, senderFieldProblems } from './senders.service.js';

export interface TemplateInput extends SenderFields {
  name: string;
  subject_template: string;
  html_template: string;
  text_template?: string | null | undefined;
}

export function templatesService(deps: {
  templates: TemplatesRepository;
  renderer: TemplateEngine;
  /** Checks sender defaults (their domain must be verified); absent: they are refused. */
  senders?: SendersService;
}) {
  const content = async (tenantId: string, input: Omit<TemplateInput, 'name'>): Promise<TemplateContent> => {
    const c = {
      subject_template: input.subject_template,
      html_template: input.html_template,
      text_template: input.text_template ?? null,
    };
    await deps.renderer.validate({
      subject: c.subject_template,
      html: c.html_template,
      text: c.text_template,
      tenantId,
    });
    return c;
  };

  /** The version's sender defaults: well-formed (400) and on a verified domain of the tenant (422). */
  const senderDefaults = async (tenantId: string, input: SenderFields) => {
    const problems: FieldProblem[] = [];
    const parsed = senderFieldProblems(input, problems);
    if (problems.length > 0) throw new AppError('validation_failed', undefined, problems);
    if (parsed.from) {
      if (!deps.senders) throw new AppError('sender_not_verified', undefined, { field: 'from' });
      await deps.senders.assertVerified(tenantId, 'from', parsed.from);
    }
    return { from_address: parsed.from, reply_to: parsed.reply_to };
  };

  const get = async (tenantId: string, id: string, version?: number): Promise<TemplateVersionRow> => {
    const row = isUuid(id) ? await deps.templates.getVersion(tenantId, id, version) : null;
    if (!row) throw new AppError('template_not_found');
    return row;
  };

  return {
    async create(tenantId: string, input: TemplateInput) {
      const c = await content(tenantId, input);
      return deps.templates.create(tenantId, newId(), input.name, {
        ...c,
        ...(await senderDefaults(tenantId, input)),
      });
    },

    async update(tenantId: string, id: string, input: Partial<TemplateInput> & Omit<TemplateInput, 'name'>) {
      const c = { ...(await content(tenantId, input)), ...(await senderDefaults(tenantId, input)) };
      const row = isUuid(id) ? await deps.templates.addVersion(tenantId, id, input.name, c) : null;
      if (!row) throw new AppError('template_not_found');
      return row;
    },

    get,

    async versions(tenantId: string, id: string) {
      await get(tenantId, id);
      return deps.templates.listVersions(tenantId, id);
    },

    list: (tenantId: string, limit: number, after: CursorKey | null) =>
      deps.templates.list(tenantId, limit, after),

    async deactivate(tenantId: string, id: string): Promise<void> {
      if (!isUuid(id) || !(await deps.templates.setActive(tenantId, id, false))) {
        throw new AppError('template_not_found');
      }
    },

    /** Renders a version exactly as a send would, without storing anything. */
    async preview(tenantId: string, id: string, variables: Record<string, unknown>, version?: number) {
      const v = await get(tenantId, id, version);
      return renderChecked(deps.renderer, { ...v, template_id: v.id }, variables);
    },

    /** The top-level variables a stored version needs. */
    variablesOf: (v: TemplateVersionRow): Promise<string[]> =>
      deps.renderer.requiredVariables(templateSource({ ...v, template_id: v.id })),

    /**
     * Renders template text that is not stored (an editor's live preview): parsed, checked and
     * rendered exactly as a stored version would be. Parsed drafts are cached by their content.
     */
    async previewDraft(
      tenantId: string,
      input: Omit<TemplateInput, 'name'>,
      variables: Record<string, unknown>,
    ) {
      const c = await content(tenantId, input);
      const key = sha256Hex(`${c.subject_template}\u0000${c.html_template}\u0000${c.text_template ?? ''}`);
      // Drafts are cached apart in the pool, so an editor's keystrokes cannot evict stored versions.
      const draft = { ...c, template_id: `draft:${key}`, version: 0, tenant_id: tenantId, draft: true };
      const rendered = await renderChecked(deps.renderer, draft, variables);
      return { ...rendered, variables: await deps.renderer.requiredVariables(templateSource(draft)) };
    },
  };
}
export type TemplatesService = ReturnType<typeof templatesService>;
