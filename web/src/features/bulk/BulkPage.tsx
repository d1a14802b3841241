import { useQuery } from '@tanstack/react-query';
import { type ChangeEvent, type FormEvent, useMemo, useState } from 'react';
import { TemplatePicker } from '../../components/TemplatePicker';
import { DataTable } from '../../components/ui/DataTable';
import { ErrorMessage } from '../../components/ui/ErrorMessage';
import { Field } from '../../components/ui/Field';
import { PageHeader, Panel } from '../../components/ui/Page';
import { ProgressBar } from '../../components/ui/ProgressBar';
import { StatusBadge } from '../../components/ui/StatusBadge';
import {
  DEFAULT_TRACKING,
  type TrackingChoices,
  TrackingOptions,
  trackingFields,
} from '../../components/ui/TrackingOptions';
import { VariableInputs } from '../../components/ui/VariableInputs';
import type { BulkRecipient } from '../../lib/api';
import { readBulkCsv } from '../../lib/csv';
import { formatNumber, formatTime, variableValue } from '../../lib/format';
import { Link } from '../../lib/router';
import { useTemplateVariables } from '../../lib/template-queries';
import { bulkQueries, doneCount, FINISHED, useCancelBulk, useSendBulk } from './api';

const PREVIEW_ROWS = 200;

export function BulkPage() {
  const [templateId, setTemplateId] = useState('');
  const variables = useTemplateVariables(templateId || undefined);
  const [csv, setCsv] = useState('');
  const [fileName, setFileName] = useState<string | null>(null);
  const [shared, setShared] = useState<Record<string, string>>({});
  const [idempotencyKey, setIdempotencyKey] = useState('');
  const [tracking, setTracking] = useState<TrackingChoices>(DEFAULT_TRACKING);
  const [jobId, setJobId] = useState<string | null>(null);
  const preview = useMemo(() => (csv.trim() ? readBulkCsv(csv) : null), [csv]);
  const good = preview?.rows.filter((r) => r.problem === null) ?? [];
  const invalid = preview?.rows.filter((r) => r.problem === 'invalid').length ?? 0;
  const duplicates = preview?.rows.filter((r) => r.problem === 'duplicate').length ?? 0;
  // What needs a look comes first; the line numbers still point into the file.
  const flaggedFirst = useMemo(
    () => [...(preview?.rows ?? [])].sort((a, b) => Number(b.problem !== null) - Number(a.problem !== null)),
    [preview],
  );

  // Variables no CSV column fills can be given once for everyone.
  const csvColumns = new Set(preview?.columns.map((c) => c.toLowerCase()) ?? []);
  const sharedNames = (variables.data ?? []).filter((n) => !csvColumns.has(n.toLowerCase()));

  const send = useSendBulk({ onSuccess: (r) => setJobId(r.bulk_job_id) });

  const onFile = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    if (!file) return;
    setFileName(file.name);
    setCsv(await file.text());
  };

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    const recipients: BulkRecipient[] = good.map((r) => {
      // The name column is the display name and, unless a column says otherwise, {{ name }} too.
      const vars: Record<string, unknown> = r.name ? { name: r.name } : {};
      for (const [k, v] of Object.entries(r.variables)) vars[k] = variableValue(v);
      return {
        email: r.email,
        ...(r.name ? { name: r.name } : {}),
        ...(Object.keys(vars).length ? { variables: vars } : {}),
      };
    });
    const sharedVars: Record<string, unknown> = {};
    for (const n of sharedNames)
      if (shared[n] !== undefined && shared[n] !== '') sharedVars[n] = variableValue(shared[n]);
    send.mutate({
      template_id: templateId,
      recipients,
      ...(Object.keys(sharedVars).length ? { shared_variables: sharedVars } : {}),
      ...(idempotencyKey.trim() ? { idempotency_key: idempotencyKey.trim() } : {}),
      ...trackingFields(tracking),
    });
  };

  if (jobId)
    return (
      <BulkProgress
        id={jobId}
        onNew={() => {
          setJobId(null);
          send.reset();
        }}
      />
    );

  return (
    <>
      <PageHeader title="Bulk send" />
      <div className="columns">
        <Panel title="Recipients">
          <form className="form" onSubmit={onSubmit}>
            <TemplatePicker required value={templateId} onChange={setTemplateId} />
            <Field label="CSV file" hint="Header row: email,name, then one column per template variable.">
              {(id, hint) => (
                <input
                  id={id}
                  aria-describedby={hint}
                  type="file"
                  accept=".csv,text/csv,text/plain"
                  onChange={onFile}
                />
              )}
            </Field>
            <Field label="Or paste CSV">
              {(id) => (
                <textarea
                  id={id}
                  className="mono"
                  rows={8}
                  placeholder={'email,name,plan\nalice@example.com,Alice,pro'}
                  value={csv}
                  onChange={(e) => {
                    setFileName(null);
                    setCsv(e.target.value);
                  }}
                />
              )}
            </Field>
            {fileName && <p className="muted">Loaded {fileName}.</p>}
            <ErrorMessage error={variables.error} title="The template's variables could not be read" />
            {sharedNames.length > 0 && (
              <>
                <p className="hint">
                  These variables have no CSV column; give them once for every recipient:
                </p>
                <VariableInputs names={sharedNames} values={shared} onChange={setShared} />
              </>
            )}
            <TrackingOptions value={tracking} onChange={setTracking} />
            <Field label="Idempotency key (optional)">
              {(id) => (
                <input id={id} value={idempotencyKey} onChange={(e) => setIdempotencyKey(e.target.value)} />
              )}
            </Field>
            <ErrorMessage error={send.error} title="The bulk send was not accepted" />
            <div className="actions">
              <button
                type="submit"
                className="primary"
                disabled={!templateId || good.length === 0 || send.isPending}
              >
                {send.isPending
                  ? 'Sending…'
                  : `Send to ${good.length} recipient${good.length === 1 ? '' : 's'}`}
              </button>
            </div>
          </form>
        </Panel>
        <Panel title="Preview">
          {!preview && <p className="muted">Choose or paste a CSV to check it before sending.</p>}
          {preview?.error && (
            <p className="error" role="alert">
              {preview.error}
            </p>
          )}
          {preview && preview.rows.length > 0 && (
            <>
              <p className="summary" data-testid="csv-summary">
                <strong>{good.length}</strong> to send ·{' '}
                <span className={invalid ? 'error-text' : ''}>{invalid} invalid</span> ·{' '}
                <span className={duplicates ? 'warn-text' : ''}>{duplicates} duplicate</span>
                {invalid + duplicates > 0 && ' (flagged rows are left out)'}
              </p>
              <div className="scroll">
                <DataTable
                  items={flaggedFirst.slice(0, PREVIEW_ROWS)}
                  columns={['Line', 'Email', 'Name', 'Variables', 'Check']}
                  rowKey={(r) => r.line}
                  rowClass={(r) => (r.problem ? `row-${r.problem}` : undefined)}
                  row={(r) => (
                    <>
                      <td>{r.line}</td>
                      <td>{r.email || <span className="muted">(empty)</span>}</td>
                      <td>{r.name}</td>
                      <td className="mono small">
                        {Object.entries(r.variables)
                          .map(([k, v]) => `${k}=${v}`)
                          .join(', ')}
                      </td>
                      <td>{r.problem ? <StatusBadge status={r.problem} /> : 'ok'}</td>
                    </>
                  )}
                />
              </div>
              {preview.rows.length > PREVIEW_ROWS && (
                <p className="muted">
                  Showing {PREVIEW_ROWS} of {preview.rows.length} rows, flagged ones first.
                </p>
              )}
            </>
          )}
        </Panel>
      </div>
    </>
  );
}

function BulkProgress({ id, onNew }: { id: string; onNew: () => void }) {
  const job = useQuery(bulkQueries.job(id));
  const cancel = useCancelBulk();
  const j = job.data;

  return (
    <>
      <PageHeader title="Bulk send">
        <button type="button" onClick={onNew}>
          New bulk send
        </button>
      </PageHeader>
      <Panel title="Progress">
        <ErrorMessage error={job.error} title="The bulk job could not be loaded" />
        {j && (
          <>
            <p>
              Job <code>{j.id}</code> <StatusBadge status={j.status} />
            </p>
            <ProgressBar
              label="Bulk progress"
              value={j.status === 'completed' && j.queued === 0 ? j.total : doneCount(j)}
              max={j.total}
            />
            <dl className="totals" aria-label="Counts">
              {(['total', 'queued', 'sent', 'delivered', 'failed', 'skipped'] as const).map((k) => (
                <div key={k} className="total">
                  <dt>{k}</dt>
                  <dd data-testid={`bulk-${k}`}>{formatNumber(j[k])}</dd>
                </div>
              ))}
            </dl>
            <p className="muted">
              Started {formatTime(j.created_at)}
              {j.completed_at && `, finished ${formatTime(j.completed_at)}`}.{' '}
              <Link to={`/emails?bulk_job_id=${j.id}`}>See the emails</Link>
            </p>
            {!FINISHED.has(j.status) && (
              <button
                type="button"
                className="danger"
                disabled={cancel.isPending}
                onClick={() => cancel.mutate(id)}
              >
                Cancel what has not been sent
              </button>
            )}
            <ErrorMessage error={cancel.error} title="The job was not cancelled" />
          </>
        )}
      </Panel>
    </>
  );
}
