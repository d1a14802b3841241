import type { TemplateVersionRow } from '../db/templates.repository.js';
import { hasHeaderBreak } from '../domain/address.js';
import { AppError } from '../domain/errors.js';
import type { RenderedEmail, TemplateEngine, TemplateSource } from '../templates/renderer.port.js';

type VersionLike = Pick<TemplateVersionRow, 'subject_template' | 'html_template' | 'text_template'> & {
  template_id: string;
  version: number;
  /** The owner: its renders share the tenant's bound in the render pool. */
  tenant_id?: string;
  draft?: boolean;
};

export const templateSource = (v: VersionLike): TemplateSource => ({
  cacheKey: `${v.template_id}@${v.version}`,
  subject: v.subject_template,
  html: v.html_template,
  text: v.text_template,
  ...(v.tenant_id ? { tenantId: v.tenant_id } : {}),
  ...(v.draft ? { draft: true } : {}),
});

/**
 * Renders one email and checks what becomes a header: the rendered subject may not carry a line
 * break (it would end the Subject header and start another).
 */
export async function renderChecked(
  renderer: TemplateEngine,
  v: VersionLike,
  variables: Record<string, unknown>,
): Promise<RenderedEmail> {
  const rendered = await renderer.render(templateSource(v), variables);
  if (hasHeaderBreak(rendered.subject))
    throw new AppError('invalid_rendered_header', undefined, { field: 'subject' });
  return rendered;
}

/**
 * What acceptance checks (and stores: the subject): the email renders as delivery will render it
 * (TemplateEngine.check) and its subject carries no line break. Same errors as `renderChecked`.
 */
export async function checkedForAcceptance(
  renderer: TemplateEngine,
  v: VersionLike,
  variables: Record<string, unknown>,
): Promise<{ subject: string }> {
  const checked = await renderer.check(templateSource(v), variables);
  if (hasHeaderBreak(checked.subject))
    throw new AppError('invalid_rendered_header', undefined, { field: 'subject' });
  return checked;
}
