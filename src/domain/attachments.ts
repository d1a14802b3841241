/**
 * Attachment rules: what a tenant may attach, checked before anything is stored. Pure functions;
 * the services turn the problems into one 4xx naming each field.
 */

/** At most this many files per email (or shared by one bulk job). */
export const MAX_ATTACHMENTS = 10;
/** Filenames longer than this are refused (SES allows 255; RFC 2231 parameters wrap anyway). */
export const MAX_FILENAME_LENGTH = 255;

/**
 * Extensions that Amazon SES ("Unsupported attachment types") and Postmark ("forbidden file
 * types") refuse, in one list: mail carrying one would be accepted here and then fail at the
 * provider, so it is refused at the API with a 422 instead. Lower case, without the dot.
 */
export const EXECUTABLE_EXTENSIONS: ReadonlySet<string> = new Set([
  'ade',
  'adp',
  'app',
  'asp',
  'bas',
  'bat',
  'bin',
  'cer',
  'chm',
  'cmd',
  'com',
  'cpl',
  'crt',
  'csh',
  'der',
  'exe',
  'fxp',
  'gadget',
  'hlp',
  'hta',
  'inf',
  'ins',
  'isp',
  'its',
  'jar',
  'js',
  'jse',
  'ksh',
  'lib',
  'lnk',
  'mad',
  'maf',
  'mag',
  'mam',
  'maq',
  'mar',
  'mas',
  'mat',
  'mau',
  'mav',
  'maw',
  'mda',
  'mdb',
  'mde',
  'mdt',
  'mdw',
  'mdz',
  'msc',
  'msh',
  'msh1',
  'msh1xml',
  'msh2',
  'msh2xml',
  'mshxml',
  'msi',
  'msp',
  'mst',
  'ops',
  'pcd',
  'pif',
  'plg',
  'prf',
  'prg',
  'ps1',
  'ps1xml',
  'ps2',
  'ps2xml',
  'psc1',
  'psc2',
  'reg',
  'scf',
  'scr',
  'sct',
  'shb',
  'shs',
  'sys',
  'tmp',
  'url',
  'vb',
  'vba',
  'vbe',
  'vbs',
  'vps',
  'vsmacros',
  'vss',
  'vst',
  'vsw',
  'vxd',
  'ws',
  'wsc',
  'wsf',
  'wsh',
  'wsl',
  'xnk',
]);

export interface AttachmentInput {
  filename: string;
  /** Base64 (standard alphabet, padding optional; line breaks tolerated as MIME writes them). */
  content: string;
  content_type?: string | undefined;
  content_id?: string | undefined;
}

/** One attachment after checking: decoded bytes and what is stored about them. */
export interface CheckedAttachment {
  filename: string;
  contentType: string;
  contentId: string | null;
  content: Buffer;
}

export interface AttachmentProblem {
  field: string;
  message: string;
  /** 'invalid' → 400, 'too_large' → 413, 'forbidden' → 422 (a file type we refuse). */
  kind: 'invalid' | 'too_large' | 'forbidden';
}

// Linear on purpose (megabytes go through it): the alphabet, then at most two '=' at the end;
// the length rules are checked apart.
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
// RFC 2045 token/token, as providers check it (no parameters: the charset belongs to the file).
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;
// A Content-ID's left side: dot-atom text without brackets (the `cid:` URL repeats it verbatim).
const CONTENT_ID = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.@-]{1,200}$/;

/** Lower-case extension after the last dot, or '' (".exe " with trailing dots/spaces counts). */
export function extensionOf(filename: string): string {
  const trimmed = filename.replace(/[\s.]+$/, '');
  const dot = trimmed.lastIndexOf('.');
  return dot < 0 ? '' : trimmed.slice(dot + 1).toLowerCase();
}

/** Decodes strict base64 (whitespace between groups allowed), or null when it is not base64. */
export function decodeBase64(s: string): Buffer | null {
  const compact = s.replace(/[\r\n\t ]/g, '');
  if (!BASE64.test(compact)) return null;
  const padded = compact.endsWith('=');
  if (padded ? compact.length % 4 !== 0 : compact.length % 4 === 1) return null;
  return Buffer.from(compact, 'base64');
}

/**
 * Checks every attachment and decodes it. `prefix` names the field (`attachments`,
 * `shared_attachments`). Returns every problem, so one answer names them all.
 */
export function checkAttachments(
  inputs: readonly AttachmentInput[],
  maxBytes: number,
  prefix = 'attachments',
): { attachments: CheckedAttachment[]; problems: AttachmentProblem[]; totalBytes: number } {
  const problems: AttachmentProblem[] = [];
  const attachments: CheckedAttachment[] = [];
  if (inputs.length > MAX_ATTACHMENTS) {
    problems.push({
      field: prefix,
      message: `must not have more than ${MAX_ATTACHMENTS} files`,
      kind: 'invalid',
    });
  }
  const contentIds = new Set<string>();
  let totalBytes = 0;
  inputs.forEach((a, i) => {
    const at = `${prefix}[${i}]`;
    const name = a.filename;
    if (name.length === 0 || name.length > MAX_FILENAME_LENGTH) {
      problems.push({
        field: `${at}.filename`,
        message: `must be 1–${MAX_FILENAME_LENGTH} characters`,
        kind: 'invalid',
      });
    } else if (/[\r\n\0]/.test(name)) {
      problems.push({ field: `${at}.filename`, message: 'must not contain CR, LF or NUL', kind: 'invalid' });
    } else if (/[/\\]/.test(name) || name === '.' || name === '..') {
      problems.push({
        field: `${at}.filename`,
        message: 'must not contain a path separator',
        kind: 'invalid',
      });
    } else if (EXECUTABLE_EXTENSIONS.has(extensionOf(name))) {
      problems.push({
        field: `${at}.filename`,
        message: `.${extensionOf(name)} files are refused (executable content)`,
        kind: 'forbidden',
      });
    }
    if (a.content_type !== undefined && !MEDIA_TYPE.test(a.content_type)) {
      problems.push({
        field: `${at}.content_type`,
        message: 'is not a media type (type/subtype)',
        kind: 'invalid',
      });
    }
    if (a.content_id !== undefined) {
      if (!CONTENT_ID.test(a.content_id)) {
        problems.push({
          field: `${at}.content_id`,
          message: 'must be 1–200 characters without spaces, angle brackets or quotes',
          kind: 'invalid',
        });
      } else if (contentIds.has(a.content_id)) {
        problems.push({
          field: `${at}.content_id`,
          message: 'is used by another attachment',
          kind: 'invalid',
        });
      }
      contentIds.add(a.content_id);
    }
    const content = decodeBase64(a.content);
    if (!content) {
      problems.push({ field: `${at}.content`, message: 'is not valid base64', kind: 'invalid' });
      return;
    }
    totalBytes += content.length;
    attachments.push({
      filename: name,
      contentType: a.content_type?.toLowerCase() ?? 'application/octet-stream',
      contentId: a.content_id ?? null,
      content,
    });
  });
  if (totalBytes > maxBytes) {
    problems.push({
      field: prefix,
      message: `must not exceed ${maxBytes} bytes decoded in all (got ${totalBytes})`,
      kind: 'too_large',
    });
  }
  return { attachments, problems, totalBytes };
}
