import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { ErrorMessage } from '../../components/ui/ErrorMessage';
import { Field } from '../../components/ui/Field';
import { Loading, Panel } from '../../components/ui/Page';
import { ApiError } from '../../lib/api';
import { parseJsonObject } from '../../lib/format';
import { templatesApi } from './api';

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

/**
 * Renders a stored version through the API's preview endpoint as the variables are typed. The
 * HTML goes into an iframe with an empty sandbox: no scripts, no forms, no navigation, and an
 * opaque origin, so a template can never reach the console or its key.
 */
export function TemplatePreview({ id, version }: { id: string; version: number }) {
  const [text, setText] = useState('{}');
  const typed = useDebounced(text, 300);
  let variables: Record<string, unknown> | null = null;
  let parseError: string | null = null;
  try {
    variables = parseJsonObject(typed, 'Variables');
  } catch (e) {
    parseError = (e as Error).message;
  }
  const preview = useQuery({
    queryKey: ['templates', 'preview', id, version, typed],
    enabled: variables !== null,
    queryFn: () => templatesApi.preview(id, variables ?? {}, version),
    retry: false,
  });

  // Offer the missing names as a starting point the first time the engine reports them.
  const missing =
    preview.error instanceof ApiError && preview.error.code === 'missing_variables'
      ? ((preview.error.details as { missing?: string[] } | undefined)?.missing ?? [])
      : [];
  const fillMissing = () => {
    const current = variables ?? {};
    const next = { ...current };
    for (const m of missing) if (!(m in next)) next[m] = m;
    setText(JSON.stringify(next, null, 2));
  };

  return (
    <Panel title={`Preview of v${version}`} className="preview">
      <Field label="Preview variables (JSON)">
        {(fid) => (
          <textarea
            id={fid}
            className="mono"
            rows={4}
            value={text}
            onChange={(e) => setText(e.target.value)}
          />
        )}
      </Field>
      {parseError && (
        <p className="error" role="alert">
          {parseError}
        </p>
      )}
      <ErrorMessage error={preview.error} title="The template did not render" />
      {missing.length > 0 && (
        <button type="button" className="secondary" onClick={fillMissing}>
          Fill in the missing variables
        </button>
      )}
      {preview.isFetching && !preview.data && <Loading what="Rendering" />}
      {preview.data && !preview.error && (
        <div className="rendered">
          <p>
            <span className="muted">Subject:</span>{' '}
            <strong data-testid="preview-subject">{preview.data.subject}</strong>
          </p>
          <iframe
            title="HTML preview"
            sandbox=""
            referrerPolicy="no-referrer"
            srcDoc={preview.data.html}
            className="preview-frame"
          />
          <details>
            <summary>Text part</summary>
            <pre className="text-part">{preview.data.text}</pre>
          </details>
        </div>
      )}
    </Panel>
  );
}
