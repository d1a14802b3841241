import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { ErrorMessage } from '../../components/ui/ErrorMessage';
import { Loading, Panel } from '../../components/ui/Page';
import { VariableInputs } from '../../components/ui/VariableInputs';
import type { RenderedPreview } from '../../lib/api';
import { variableValue } from '../../lib/format';
import { missingVariables, withNames } from '../../lib/template-queries';
import { type DraftInput, templatesQueries } from './api';

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

/**
 * Renders the text being edited (not the stored version) through `POST /templates/preview`, a
 * moment after typing stops. The HTML goes into an iframe with an empty sandbox: no scripts, no
 * forms, no navigation, and an opaque origin, so a template can never reach the console or its key.
 */
export function TemplatePreview({
  draft,
  known,
  unsaved,
}: {
  draft: DraftInput;
  /** The variables of the stored version the draft started from. */
  known: string[];
  unsaved: boolean;
}) {
  // Names the draft uses beyond `known` are learnt from the API's 422 `missing_variables`.
  const [found, setFound] = useState<string[]>([]);
  const [values, setValues] = useState<Record<string, string>>({});
  const names = withNames(known, found);
  // An empty input previews as its name in brackets, so the layout shows before any value is typed.
  const variables: Record<string, unknown> = {};
  for (const n of names) variables[n] = values[n]?.trim() ? variableValue(values[n]) : `[${n}]`;
  const canRender = draft.subject_template !== '' && draft.html_template !== '';
  // A string, so that the debounce sees a change only when the content changes.
  const request = useDebounced(JSON.stringify({ draft, variables }), 300);

  const preview = useQuery({ ...templatesQueries.draftPreview(request), enabled: canRender });

  const missing = missingVariables(preview.error);
  // Joined, so that the effect runs when the names change, not on every new array.
  const missingKey = missing.join('\n');
  useEffect(() => {
    if (missingKey) setFound((f) => withNames(f, missingKey.split('\n')));
  }, [missingKey]);

  // While the draft does not render (a tag half typed), the last rendering stays, dimmed.
  const [lastGood, setLastGood] = useState<RenderedPreview | null>(null);
  useEffect(() => {
    if (preview.data) setLastGood(preview.data);
  }, [preview.data]);
  const shown = preview.error ? lastGood : (preview.data ?? null);
  // A 422 for names not yet in the form is answered by adding them; only one that persists shows.
  const pendingNames = missing.length > 0 && missing.some((m) => !names.includes(m));

  return (
    <Panel title={unsaved ? 'Preview (unsaved changes)' : 'Preview'} className="preview">
      <p className="hint">Renders the text as you edit it; nothing is saved.</p>
      <VariableInputs
        names={names}
        values={values}
        onChange={setValues}
        legend="Preview variables"
        hint="Empty ones preview as [name]. Lists and objects (for loops, nested fields) can be written as JSON."
        placeholder={(n) => `[${n}]`}
      />
      {!canRender && <p className="muted">The subject and the HTML are needed to preview.</p>}
      {canRender && !pendingNames && (
        <ErrorMessage error={preview.error} title="The template did not render" />
      )}
      {canRender && preview.isPending && <Loading what="Rendering" />}
      {canRender && shown && (
        <div className={`rendered ${preview.error ? 'stale' : ''}`} aria-busy={preview.isFetching}>
          {preview.error && <p className="muted">The last text that rendered:</p>}
          <p>
            <span className="muted">Subject:</span>{' '}
            <strong data-testid="preview-subject">{shown.subject}</strong>
          </p>
          <iframe
            title="HTML preview"
            sandbox=""
            referrerPolicy="no-referrer"
            srcDoc={shown.html}
            className="preview-frame"
          />
          <details>
            <summary>Text part</summary>
            <pre className="text-part">{shown.text}</pre>
          </details>
        </div>
      )}
    </Panel>
  );
}
