import { Type } from 'typebox';

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
  created_at: Time,
  updated_at: Time,
  version_created_at: Time,
});

export const TemplateVersion = Type.Object({ version: Type.Integer(), created_at: Time });

export const RenderedPreview = Type.Object({
  subject: Type.String(),
  html: Type.String(),
  text: Type.String(),
});
