import { ApiError } from '../../lib/api';
import { getSession, setSession } from '../../lib/session';

interface FieldProblem {
  field: string;
  message: string;
}

const isFieldList = (d: unknown): d is FieldProblem[] =>
  Array.isArray(d) && d.every((x) => x && typeof x === 'object' && 'field' in x && 'message' in x);

/** Shows an API error from its body (code, message, details) — never a blank page. */
export function ErrorMessage({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const api = error instanceof ApiError ? error : null;
  const message = error instanceof Error ? error.message : String(error);
  const details = api?.details;
  const missing = (details as { missing?: unknown } | null | undefined)?.missing;
  return (
    <div className="error" role="alert">
      <strong>{title ?? 'Something went wrong'}</strong>
      <p>
        {message}
        {api && api.code !== 'network_error' && (
          <>
            {' '}
            <code className="muted">
              {api.status} {api.code}
            </code>
          </>
        )}
      </p>
      {Array.isArray(missing) && (
        <p>
          Missing variables:{' '}
          {missing.map((m) => (
            <code key={String(m)} className="chip">
              {String(m)}
            </code>
          ))}
        </p>
      )}
      {isFieldList(details) && (
        <ul>
          {details.map((d) => (
            <li key={`${d.field}:${d.message}`}>
              <code>{d.field || 'body'}</code> {d.message}
            </li>
          ))}
        </ul>
      )}
      {details !== undefined && !isFieldList(details) && !Array.isArray(missing) && (
        <pre className="json">{JSON.stringify(details, null, 2)}</pre>
      )}
      {api?.status === 401 && getSession() && (
        <button type="button" className="link" onClick={() => setSession(null)}>
          Sign in again
        </button>
      )}
    </div>
  );
}
