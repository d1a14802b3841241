import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { ErrorMessage } from '../../components/ui/ErrorMessage';
import { Field } from '../../components/ui/Field';
import { Loading, PageHeader, Panel } from '../../components/ui/Page';
import { formatTime, mailboxText } from '../../lib/format';
import { Link, navigate } from '../../lib/router';
import {
  type DraftInput,
  type Template,
  type TemplateInput,
  templatesQueries,
  useDeactivateTemplate,
  useSaveTemplate,
} from './api';
import { TemplatePreview } from './TemplatePreview';

const EMPTY: TemplateInput = {
  name: '',
  subject_template: 'Hello {{ name }}',
  html_template: '<h1>Hello {{ name }}</h1>\n<p>…</p>',
  text_template: null,
  from: '',
  reply_to: '',
};

const inputOf = (t: Template): TemplateInput => ({
  name: t.name,
  subject_template: t.subject_template,
  html_template: t.html_template,
  text_template: t.text_template,
  from: mailboxText(t.from),
  reply_to: mailboxText(t.reply_to),
});

/** `/templates/new` creates; `/templates/:id` shows a version, edits (a new version) and previews. */
export function TemplatePage({ id, version }: { id: string | null; version?: number }) {
  const tpl = useQuery({ ...templatesQueries.one(id ?? '', version), enabled: id !== null });
  const versions = useQuery({ ...templatesQueries.versions(id ?? ''), enabled: id !== null });
  const [form, setForm] = useState<TemplateInput>(EMPTY);
  const loaded = tpl.data;
  useEffect(() => {
    if (loaded) setForm(inputOf(loaded));
  }, [loaded]);

  const save = useSaveTemplate({ onSuccess: (t) => navigate(`/templates/${t.id}`) });
  const deactivate = useDeactivateTemplate();

  // An empty text template means "derive the text part from the HTML", for saving and previewing alike.
  const draft: DraftInput = {
    subject_template: form.subject_template,
    html_template: form.html_template,
    text_template: form.text_template?.trim() ? form.text_template : null,
  };
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate({
      id,
      body: {
        name: form.name,
        ...draft,
        from: form.from?.trim() || null,
        reply_to: form.reply_to?.trim() || null,
      },
    });
  };

  if (id !== null && tpl.isPending) return <Loading what="Loading the template" />;
  const viewingOld = loaded && loaded.version !== loaded.latest_version;
  const saved = loaded ? inputOf(loaded) : EMPTY;
  const unsaved =
    draft.subject_template !== saved.subject_template ||
    draft.html_template !== saved.html_template ||
    draft.text_template !== saved.text_template ||
    (form.from ?? '') !== (saved.from ?? '') ||
    (form.reply_to ?? '') !== (saved.reply_to ?? '');

  return (
    <>
      <PageHeader title={id ? `Template ${loaded?.name ?? ''}` : 'New template'}>
        <Link to="/templates">← All templates</Link>
      </PageHeader>
      <ErrorMessage error={tpl.error} title="The template could not be loaded" />
      <div className="columns">
        <Panel title={id ? `Edit (saving adds version ${(loaded?.latest_version ?? 0) + 1})` : 'Create'}>
          {viewingOld && (
            <p className="notice">
              You are looking at version {loaded.version}. Saving makes its content the newest version.
            </p>
          )}
          {loaded && !loaded.is_active && (
            <p className="notice">This template is inactive: sends are refused.</p>
          )}
          <form className="form" onSubmit={onSubmit}>
            <Field label="Name">
              {(fid) => (
                <input
                  id={fid}
                  required
                  value={form.name}
                  onChange={(e) => setForm({ ...form, name: e.target.value })}
                />
              )}
            </Field>
            <div className="grid-2">
              <Field label="Default From (optional)" hint="On a verified domain; a send may name another.">
                {(fid, hint) => (
                  <input
                    id={fid}
                    aria-describedby={hint}
                    placeholder="Billing <billing@example.com>"
                    value={form.from ?? ''}
                    onChange={(e) => setForm({ ...form, from: e.target.value })}
                  />
                )}
              </Field>
              <Field label="Default Reply-To (optional)">
                {(fid) => (
                  <input
                    id={fid}
                    value={form.reply_to ?? ''}
                    onChange={(e) => setForm({ ...form, reply_to: e.target.value })}
                  />
                )}
              </Field>
            </div>
            <Field label="Subject template">
              {(fid) => (
                <input
                  id={fid}
                  required
                  className="mono"
                  value={form.subject_template}
                  onChange={(e) => setForm({ ...form, subject_template: e.target.value })}
                />
              )}
            </Field>
            <Field label="HTML template" hint="Liquid: {{ variable }}, filters, {% if %} and {% for %}.">
              {(fid, hint) => (
                <textarea
                  id={fid}
                  aria-describedby={hint}
                  required
                  rows={12}
                  className="mono"
                  value={form.html_template}
                  onChange={(e) => setForm({ ...form, html_template: e.target.value })}
                />
              )}
            </Field>
            <Field label="Text template (optional)" hint="Empty: the text part is derived from the HTML.">
              {(fid, hint) => (
                <textarea
                  id={fid}
                  aria-describedby={hint}
                  rows={5}
                  className="mono"
                  value={form.text_template ?? ''}
                  onChange={(e) => setForm({ ...form, text_template: e.target.value })}
                />
              )}
            </Field>
            <ErrorMessage error={save.error} title="The template was not saved" />
            <div className="actions">
              <button type="submit" className="primary" disabled={save.isPending}>
                {id ? 'Save as a new version' : 'Create template'}
              </button>
              {id && loaded?.is_active && (
                <button
                  type="button"
                  className="danger"
                  disabled={deactivate.isPending}
                  onClick={() => {
                    if (window.confirm('Deactivate this template? Sends with it will be refused.'))
                      deactivate.mutate(id);
                  }}
                >
                  Deactivate
                </button>
              )}
            </div>
            <ErrorMessage error={deactivate.error} title="The template was not deactivated" />
          </form>
        </Panel>
        <div className="stack">
          <TemplatePreview draft={draft} known={loaded?.variables ?? []} unsaved={id !== null && unsaved} />
          {id && (
            <Panel title="Versions">
              <ErrorMessage error={versions.error} title="Versions could not be listed" />
              <ul className="versions">
                {versions.data?.items.map((v) => (
                  <li key={v.version}>
                    <Link
                      to={`/templates/${id}?version=${v.version}`}
                      aria-current={loaded?.version === v.version ? 'page' : undefined}
                    >
                      v{v.version}
                    </Link>{' '}
                    <span className="muted">{formatTime(v.created_at)}</span>
                  </li>
                ))}
              </ul>
            </Panel>
          )}
        </div>
      </div>
    </>
  );
}
