import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { decodeCursor, page } from '../../db/cursor.js';
import type { TemplateVersionRow } from '../../db/templates.repository.js';
import type { TemplatesService } from '../../services/templates.service.js';
import { tenantOf } from '../plugins/auth.js';
import { JsonObject, MailboxInput, Page, PageQuery, TenantIdQuery } from '../schemas/common.js';
import { errors } from '../schemas/errors.js';
import {
  DraftPreview,
  DraftPreviewBody,
  RenderedPreview,
  Template,
  TemplateVersion,
} from '../schemas/templates.js';

const LIMIT = 100_000;
const TemplateFields = {
  tenant_id: Type.Optional(Type.String({ maxLength: 64 })),
  subject_template: Type.String({ minLength: 1, maxLength: 2000 }),
  html_template: Type.String({ minLength: 1, maxLength: LIMIT }),
  text_template: Type.Optional(Type.Union([Type.String({ maxLength: LIMIT }), Type.Null()])),
  from: Type.Optional(
    Type.Union([
      MailboxInput('Default sender of this version; its domain must be a verified domain of the tenant'),
      Type.Null(),
    ]),
  ),
  reply_to: Type.Optional(Type.Union([MailboxInput('Default Reply-To of this version'), Type.Null()])),
};

export const templateView = (t: TemplateVersionRow, variables: string[]) => ({
  id: t.id,
  name: t.name,
  version: t.version,
  latest_version: t.latest_version,
  is_active: t.is_active,
  subject_template: t.subject_template,
  html_template: t.html_template,
  text_template: t.text_template,
  from: t.from_address ?? null,
  reply_to: t.reply_to ?? null,
  created_at: t.created_at.toISOString(),
  updated_at: t.updated_at.toISOString(),
  version_created_at: t.version_created_at.toISOString(),
  variables,
});

export const templatesRoutes =
  (deps: { templates: TemplatesService }): FastifyPluginAsyncTypebox =>
  async (app) => {
    const svc = deps.templates;
    const view = async (t: TemplateVersionRow) => templateView(t, await svc.variablesOf(t));
    const Params = Type.Object({ id: Type.String({ maxLength: 200 }) });

    app.post(
      '/templates',
      {
        schema: {
          tags: ['templates'],
          summary: 'Create a template (version 1)',
          body: Type.Object(
            { name: Type.String({ minLength: 1, maxLength: 200 }), ...TemplateFields },
            { additionalProperties: false },
          ),
          response: { 201: Template },
        },
      },
      async (req, reply) => {
        const tenantId = tenantOf(req, req.body.tenant_id);
        return reply.code(201).send(await view(await svc.create(tenantId, req.body)));
      },
    );

    app.put(
      '/templates/:id',
      {
        schema: {
          tags: ['templates'],
          summary: 'Add a new immutable version of a template',
          params: Params,
          body: Type.Object(
            { name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), ...TemplateFields },
            { additionalProperties: false },
          ),
          response: { 200: Template },
        },
      },
      async (req) => {
        const tenantId = tenantOf(req, req.body.tenant_id);
        return view(await svc.update(tenantId, req.params.id, req.body));
      },
    );

    app.get(
      '/templates',
      {
        schema: {
          tags: ['templates'],
          summary: 'List templates (latest versions), newest first',
          querystring: Type.Object(
            { ...TenantIdQuery.properties, ...PageQuery },
            { additionalProperties: false },
          ),
          response: { 200: Page(Template) },
        },
      },
      async (req) => {
        const tenantId = tenantOf(req, req.query.tenant_id);
        const rows = await svc.list(tenantId, req.query.limit, decodeCursor(req.query.cursor));
        const p = page(rows, req.query.limit, (r) => r.id, view);
        return { ...p, items: await Promise.all(p.items) };
      },
    );

    app.get(
      '/templates/:id',
      {
        schema: {
          tags: ['templates'],
          summary: 'Get a template: the latest version, or ?version=N',
          params: Params,
          querystring: Type.Object(
            {
              ...TenantIdQuery.properties,
              version: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
            },
            { additionalProperties: false },
          ),
          response: { 200: Template },
        },
      },
      async (req) => {
        const tenantId = tenantOf(req, req.query.tenant_id);
        return view(await svc.get(tenantId, req.params.id, req.query.version));
      },
    );

    app.get(
      '/templates/:id/versions',
      {
        schema: {
          tags: ['templates'],
          summary: "List a template's versions",
          params: Params,
          querystring: TenantIdQuery,
          response: { 200: Page(TemplateVersion) },
        },
      },
      async (req) => {
        const tenantId = tenantOf(req, req.query.tenant_id);
        const rows = await svc.versions(tenantId, req.params.id);
        return {
          items: rows.map((r) => ({ version: r.version, created_at: r.created_at.toISOString() })),
          next_cursor: null,
        };
      },
    );

    app.delete(
      '/templates/:id',
      {
        schema: {
          tags: ['templates'],
          summary: 'Deactivate a template (versions are kept; sends are refused)',
          params: Params,
          querystring: TenantIdQuery,
          response: { 204: Type.Unsafe<void>({ description: 'Deactivated; no body' }) },
        },
      },
      async (req, reply) => {
        const tenantId = tenantOf(req, req.query.tenant_id);
        await svc.deactivate(tenantId, req.params.id);
        return reply.code(204).send();
      },
    );

    app.post(
      '/templates/preview',
      {
        schema: {
          tags: ['templates'],
          summary: 'Render template text that is not stored (a live preview), storing nothing',
          body: DraftPreviewBody,
          response: { 200: DraftPreview, ...errors(422) },
        },
      },
      async (req) => {
        return svc.previewDraft(tenantOf(req, req.body.tenant_id), req.body, req.body.variables ?? {});
      },
    );

    app.post(
      '/templates/:id/preview',
      {
        schema: {
          tags: ['templates'],
          summary: 'Render a template with variables, storing nothing',
          params: Params,
          body: Type.Object(
            {
              tenant_id: Type.Optional(Type.String({ maxLength: 64 })),
              variables: Type.Optional(JsonObject()),
              version: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
            },
            { additionalProperties: false },
          ),
          response: { 200: RenderedPreview, ...errors(422) },
        },
      },
      async (req) => {
        const tenantId = tenantOf(req, req.body?.tenant_id);
        return svc.preview(tenantId, req.params.id, req.body?.variables ?? {}, req.body?.version);
      },
    );
  };
