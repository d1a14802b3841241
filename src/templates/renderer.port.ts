/** What the template engine renders: one immutable template version. */
export interface TemplateSource {
  /** Cache key for the parsed form, e.g. `${templateId}@${version}`. */
  cacheKey: string;
  subject: string;
  html: string;
  text: string | null;
}

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}
