/** The template text of one version or draft, before it is parsed. */
export interface TemplateText {
  subject: string;
  html: string;
  text: string | null;
}

/** What the template engine renders: one immutable template version. */
export interface TemplateSource extends TemplateText {
  /** Cache key for the parsed form, e.g. `${templateId}@${version}`. */
  cacheKey: string;
  /**
   * Whose template this is: renders of one tenant are bounded in how many run at once, so a
   * tenant's storm of slow renders queues behind itself. Absent: a shared bucket.
   */
  tenantId?: string;
  /** An unsaved draft (an editor's live preview): cached apart, so it cannot evict stored versions. */
  draft?: boolean;
}

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

/**
 * The port every caller renders through. Templates are tenant input: an implementation must keep
 * them from reaching files or JavaScript objects, and bound their time, memory and output; one
 * that exceeds a bound fails with `template_render_limit`. Errors are `AppError`s of the catalogue
 * (`template_invalid`, `missing_variables`, `template_render_failed`, `template_render_limit`).
 */
export interface TemplateEngine {
  /** Parses the text; refuses what cannot be stored (syntax, file tags, unknown filters, size). */
  validate(source: TemplateText & { tenantId?: string }): Promise<void>;
  /** The top-level variable names the templates read from the caller, sorted. */
  requiredVariables(source: TemplateSource): Promise<string[]>;
  render(source: TemplateSource, variables: Record<string, unknown>): Promise<RenderedEmail>;
  /**
   * What acceptance needs: renders the email with delivery's checks and errors and returns its
   * subject (see TemplateRenderer.check). An engine may batch concurrent checks.
   */
  check(source: TemplateSource, variables: Record<string, unknown>): Promise<{ subject: string }>;
  close(): Promise<void>;
}
