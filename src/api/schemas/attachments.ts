import { Type } from 'typebox';
import { MAX_ATTACHMENTS, MAX_FILENAME_LENGTH } from '../../domain/attachments.js';

export const AttachmentInput = Type.Object(
  {
    filename: Type.String({
      minLength: 1,
      maxLength: MAX_FILENAME_LENGTH,
      description:
        'Shown to the recipient; no CR/LF/NUL or path separators; executable types are refused (422)',
    }),
    content: Type.String({ minLength: 1, description: 'The file, base64-encoded' }),
    content_type: Type.Optional(
      Type.String({
        maxLength: 255,
        description: 'Media type, e.g. application/pdf (default application/octet-stream)',
      }),
    ),
    content_id: Type.Optional(
      Type.String({
        maxLength: 200,
        description: 'Makes the file inline: the HTML refers to it as cid:<content_id>',
      }),
    ),
  },
  { additionalProperties: false },
);

export const AttachmentList = (description: string) =>
  Type.Array(AttachmentInput, { maxItems: MAX_ATTACHMENTS, description });

/** What lookups show of an attachment: never its content. */
export const AttachmentInfo = Type.Object({
  filename: Type.String(),
  content_type: Type.String(),
  content_id: Type.Union([Type.String(), Type.Null()]),
  size: Type.Integer({ description: 'Bytes, decoded' }),
  sha256: Type.String({ description: 'SHA-256 of the content, hex' }),
});
