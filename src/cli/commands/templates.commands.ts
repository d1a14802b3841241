import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { type MailsystemClient, type Template, unwrap } from '../../client/mailsystem-client.js';
import { CliError, EXIT, type Run, time } from '../context.js';

/**
 * Templates kept as files, one folder per template named after it:
 *   welcome/subject.liquid     the subject (one line; a final line break is not part of it)
 *   welcome/body.html.liquid   the HTML
 *   welcome/body.txt.liquid    the text part (optional: without it, derived from the HTML)
 */
const FILES = { subject: 'subject.liquid', html: 'body.html.liquid', text: 'body.txt.liquid' } as const;
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

interface TemplateFiles {
  name: string;
  subject_template: string;
  html_template: string;
  text_template: string | null;
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

async function readTemplateDir(dir: string): Promise<TemplateFiles> {
  const read = (f: string) => readFile(join(dir, f), 'utf8');
  const name = basename(dir);
  if (!(await exists(join(dir, FILES.html)))) {
    throw new CliError(
      `${dir}: ${FILES.html} is missing (a template folder holds ${Object.values(FILES).join(', ')})`,
    );
  }
  return {
    name,
    subject_template: (await read(FILES.subject)).replace(/[\r\n]+$/, ''),
    html_template: await read(FILES.html),
    text_template: (await exists(join(dir, FILES.text))) ? await read(FILES.text) : null,
  };
}

/** `<dir>` is one template folder, or a folder of them. */
async function templateDirs(dir: string): Promise<string[]> {
  if (!(await exists(dir))) throw new CliError(`${dir}: no such folder`);
  if (await exists(join(dir, FILES.subject))) return [dir];
  const entries = await readdir(dir, { withFileTypes: true });
  const dirs = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.isDirectory() && (await exists(join(dir, e.name, FILES.subject)))) dirs.push(join(dir, e.name));
  }
  if (dirs.length === 0) throw new CliError(`${dir}: no template folders (each holds ${FILES.subject})`);
  return dirs;
}

/** Every active template of the tenant, by name; a name two of them share is ambiguous. */
export async function activeTemplates(client: MailsystemClient): Promise<Map<string, Template[]>> {
  const byName = new Map<string, Template[]>();
  let cursor: string | undefined;
  do {
    const page = await unwrap(client.GET('/templates', { params: { query: { limit: 200, cursor } } }));
    for (const t of page.items) if (t.is_active) byName.set(t.name, [...(byName.get(t.name) ?? []), t]);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return byName;
}

function only(name: string, found: Template[] | undefined): Template | undefined {
  if (found && found.length > 1) {
    throw new CliError(
      `${found.length} active templates are named "${name}" (${found.map((t) => t.id).join(', ')}): use an id`,
      EXIT.apiError,
    );
  }
  return found?.[0];
}

/** A template id from an id or the name of an active template. */
export async function resolveTemplate(client: MailsystemClient, nameOrId: string): Promise<string> {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(nameOrId)) return nameOrId;
  const t = only(nameOrId, (await activeTemplates(client)).get(nameOrId));
  if (!t) throw new CliError(`no active template is named "${nameOrId}"`, EXIT.apiError);
  return t.id;
}

const sameContent = (t: Template, f: TemplateFiles) =>
  t.subject_template === f.subject_template &&
  t.html_template === f.html_template &&
  (t.text_template ?? null) === f.text_template;

export function templatesCommands(program: Command, run: Run) {
  const templates = program.command('templates').description('keep templates as files: push, pull, list');

  run(
    templates
      .command('push')
      .description('create or update templates from folders; a new version only where the content changed')
      .argument('<dir>', 'a template folder (welcome/) or a folder of them')
      .option('--dry-run', 'say what would change, change nothing'),
    async (ctx, dir: string, o: { dryRun?: boolean }) => {
      const client = ctx.tenant();
      const files = await Promise.all((await templateDirs(dir)).map(readTemplateDir));
      const existing = await activeTemplates(client);
      const results: Array<{ name: string; id: string | null; version: number | null; result: string }> = [];
      for (const f of files) {
        const current = only(f.name, existing.get(f.name));
        let outcome: 'created' | 'updated' | 'unchanged';
        let t: Pick<Template, 'id' | 'version'> | null = current ?? null;
        if (current && sameContent(current, f)) outcome = 'unchanged';
        else if (o.dryRun) outcome = current ? 'updated' : 'created';
        else if (current) {
          outcome = 'updated';
          t = await unwrap(client.PUT('/templates/{id}', { params: { path: { id: current.id } }, body: f }));
        } else {
          outcome = 'created';
          t = await unwrap(client.POST('/templates', { body: f }));
        }
        results.push({ name: f.name, id: t?.id ?? null, version: t?.version ?? null, result: outcome });
      }
      ctx.print({ templates: results, dry_run: Boolean(o.dryRun) }, () =>
        ctx.table(
          ['template', 'id', 'version', o.dryRun ? 'would be' : 'result'],
          results.map((r) => [r.name, r.id, r.version, r.result]),
        ),
      );
      return 0;
    },
  );

  run(
    templates
      .command('pull')
      .description('write the latest version of every active template (or one) as files')
      .argument('<dir>', 'where the template folders go')
      .option('--name <name>', 'only this template'),
    async (ctx, dir: string, o: { name?: string }) => {
      const client = ctx.tenant();
      const all = await activeTemplates(client);
      const names = o.name ? [o.name] : [...all.keys()].sort();
      const written: Array<{ name: string; id: string; version: number; folder: string }> = [];
      for (const name of names) {
        const t = only(name, all.get(name));
        if (!t) throw new CliError(`no active template is named "${name}"`, EXIT.apiError);
        if (!SAFE_NAME.test(name)) {
          ctx.note(`skipped "${name}": not a name a folder can take`);
          continue;
        }
        const folder = join(dir, name);
        await mkdir(folder, { recursive: true });
        await writeFile(join(folder, FILES.subject), `${t.subject_template}\n`);
        await writeFile(join(folder, FILES.html), t.html_template);
        if (t.text_template !== null) await writeFile(join(folder, FILES.text), t.text_template);
        written.push({ name, id: t.id, version: t.version, folder });
      }
      ctx.print({ templates: written }, () =>
        ctx.table(
          ['template', 'id', 'version', 'folder'],
          written.map((w) => [w.name, w.id, w.version, w.folder]),
        ),
      );
      return 0;
    },
  );

  run(templates.command('list').description('list active templates'), async (ctx) => {
    const all = [...(await activeTemplates(ctx.tenant())).values()].flat();
    ctx.print({ items: all }, () =>
      ctx.table(
        ['name', 'id', 'version', 'variables', 'updated'],
        all.map((t) => [t.name, t.id, t.version, t.variables.join(', '), time(t.updated_at)]),
      ),
    );
    return 0;
  });
}
