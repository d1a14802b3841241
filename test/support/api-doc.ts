/**
 * Renders the OpenAPI document as docs/api.md: one section per route with its summary, who may
 * call it, its parameters and body fields, and its answers. A test keeps the file in step with the
 * document (`npm run docs:api` rewrites it).
 */
type Schema = {
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  description?: string;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  maxItems?: number;
  default?: unknown;
  $ref?: string;
};
type Parameter = { name: string; in: string; required?: boolean; schema?: Schema; description?: string };
type Operation = {
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Array<Record<string, string[]>>;
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { description?: string }>;
};

const typeOf = (s: Schema | undefined): string => {
  if (!s) return 'any';
  if (s.$ref) return s.$ref.split('/').pop() ?? 'object';
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return alts.map(typeOf).join(' \\| ');
  const t = Array.isArray(s.type) ? s.type.join(' \\| ') : (s.type ?? 'any');
  if (t === 'array') return `${typeOf(s.items)}[]`;
  return s.format ? `${t} (${s.format})` : t;
};

const notes = (s: Schema | undefined): string => {
  if (!s) return '';
  const n: string[] = [];
  if (s.description) n.push(s.description);
  if (s.maxLength !== undefined) n.push(`≤ ${s.maxLength} chars`);
  if (s.maxItems !== undefined) n.push(`≤ ${s.maxItems.toLocaleString('en-US')} items`);
  if (s.minimum !== undefined || s.maximum !== undefined) n.push(`${s.minimum ?? ''}…${s.maximum ?? ''}`);
  if (s.default !== undefined) n.push(`default ${JSON.stringify(s.default)}`);
  return n.join('; ').replace(/\|/g, '\\|').replace(/\n/g, ' ');
};

const who = (op: Operation): string => {
  const schemes = (op.security ?? []).flatMap((r) => Object.keys(r));
  if (schemes.includes('apiKey')) return 'tenant API key';
  if (schemes.includes('adminToken')) return 'admin token';
  if (schemes.includes('metricsToken')) return 'METRICS_TOKEN when set';
  return 'none';
};

export function renderApiDoc(doc: { paths: Record<string, Record<string, Operation>> }): string {
  const out: string[] = [
    '# API reference',
    '',
    'Generated from the OpenAPI document the API serves at `/openapi.json` (viewer at `/docs`) by',
    '`npm run docs:api`; a test fails when this file and the document disagree. Every error is',
    '`{"error": {"code", "message", "details"}}`; codes are listed in `src/domain/errors.ts`.',
    '',
  ];
  const byTag = new Map<string, string[]>();
  const entries = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ path, method: method.toUpperCase(), op })),
  );
  for (const { path, method, op } of entries) {
    const tag = op.tags?.[0] ?? 'other';
    const lines: string[] = [`### \`${method} ${path}\``, ''];
    if (op.summary) lines.push(`${op.summary}.`.replace(/\.\.$/, '.'), '');
    if (op.description) lines.push(op.description, '');
    lines.push(`Authentication: ${who(op)}.`, '');
    const params = op.parameters ?? [];
    if (params.length > 0) {
      lines.push('| parameter | in | type | required | notes |', '|---|---|---|---|---|');
      for (const p of params) {
        lines.push(
          `| \`${p.name}\` | ${p.in} | ${typeOf(p.schema)} | ${p.required && p.schema?.default === undefined ? 'yes' : ''} | ${notes(p.schema)} |`,
        );
      }
      lines.push('');
    }
    const body = op.requestBody?.content?.['application/json']?.schema;
    if (body?.properties) {
      lines.push('| body field | type | required | notes |', '|---|---|---|---|');
      for (const [name, s] of Object.entries(body.properties)) {
        lines.push(
          `| \`${name}\` | ${typeOf(s)} | ${body.required?.includes(name) ? 'yes' : ''} | ${notes(s)} |`,
        );
      }
      lines.push('');
    }
    const answers = Object.keys(op.responses ?? {}).sort();
    if (answers.length > 0) lines.push(`Answers: ${answers.join(', ')}.`, '');
    byTag.set(tag, [...(byTag.get(tag) ?? []), ...lines]);
  }
  for (const [tag, lines] of [...byTag.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    out.push(`## ${tag[0]?.toUpperCase()}${tag.slice(1)}`, '', ...lines);
  }
  return `${out.join('\n').trimEnd()}\n`;
}
