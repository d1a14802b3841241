import { Link } from '../lib/router';
import { useTemplateOptions } from '../lib/template-queries';
import { ErrorMessage } from './ui/ErrorMessage';
import { Field } from './ui/Field';

/** A labelled select of the tenant's active templates, with its own loading error and empty hint. */
export function TemplatePicker({
  value,
  onChange,
  allowAll,
  required,
}: {
  value: string;
  onChange: (value: string) => void;
  /** When set, an empty choice with this label (e.g. "All templates"). */
  allowAll?: string;
  required?: boolean;
}) {
  const templates = useTemplateOptions();
  return (
    <>
      <Field label="Template">
        {(id) => (
          <select id={id} value={value} required={required} onChange={(e) => onChange(e.target.value)}>
            <option value="">
              {allowAll ?? (templates.data ? 'Choose a template…' : 'Loading templates…')}
            </option>
            {templates.data?.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name} (v{t.version})
              </option>
            ))}
          </select>
        )}
      </Field>
      <ErrorMessage error={templates.error} title="Templates could not be loaded" />
      {!allowAll && templates.data?.length === 0 && (
        <p className="hint">
          No templates yet. <Link to="/templates/new">Create one</Link> first.
        </p>
      )}
    </>
  );
}
