import { Type } from 'typebox';
import { NullableMailbox } from './common.js';

const Time = Type.String({ format: 'date-time' });

export const Template = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  version: Type.Integer({ description: 'The version shown' }),
  latest_version: Type.Integer(),
  is_active: Type.Boolean(),
  subject_template: Type.String(),
  html_template: Type.String(),
  text_template: Type.Union([Type.String(), Type.Null()]),
  from: { ...NullableMailbox, description: 'Default sender of this version (a request may override it)' },
  reply_to: { ...NullableMailbox, description: 'Default Reply-To of this version' },
  created_at: Time,
  updated_at: Time,
  version_created_at: Time,
  variables: Type.Array(Type.String(), {
    description: 'Top-level variables this version needs (names set inside the template excluded)',
  }),
});

export const TemplateVersion = Type.Object({ version: Type.Integer(), created_at: Time });

export const RenderedPreview = Type.Object({
  subject: Type.String(),
  html: Type.String(),
  text: Type.String(),
});

export const DraftPreview = Type.Object({
  ...RenderedPreview.properties,
  variables: Type.Array(Type.String(), { description: 'Top-level variables the draft needs' }),
});

export const DraftPreviewBody = Type.Object(
  {
    tenant_id: Type.Optional(Type.String({ maxLength: 64 })),
    subject_template: Type.String({ minLength: 1, maxLength: 2000 }),
    html_template: Type.String({ minLength: 1, maxLength: 100_000 }),
    text_template: Type.Optional(Type.Union([Type.String({ maxLength: 100_000 }), Type.Null()])),
    variables: Type.Optional(
      Type.Record(Type.String({ maxLength: 200 }), Type.Unknown(), { maxProperties: 1000 }),
    ),
  },
  { additionalProperties: false },
);
