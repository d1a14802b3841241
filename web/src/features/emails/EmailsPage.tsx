import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { QueryTable } from '../../components/ui/DataTable';
import { Field } from '../../components/ui/Field';
import { PageHeader, Panel } from '../../components/ui/Page';
import { usePager } from '../../components/ui/Pager';
import { StatusBadge } from '../../components/ui/StatusBadge';
import { EMAIL_STATUSES, isEmailStatus } from '../../lib/email-status';
import { formatTime, localInputToIso } from '../../lib/format';
import { Link, navigate, useLocation } from '../../lib/router';
import { type EmailFilters, emailQueries } from './api';

export function EmailsPage() {
  const location = useLocation();
  // Links from elsewhere (a bulk job, a status) arrive as #/emails?status=…&bulk_job_id=….
  const [filters, setFilters] = useState<EmailFilters>(() => {
    const f: EmailFilters = {};
    const status = location.query.get('status');
    if (status && isEmailStatus(status)) f.status = status;
    for (const k of ['recipient', 'bulk_job_id'] as const) {
      const v = location.query.get(k);
      if (v) f[k] = v;
    }
    return f;
  });
  const [draft, setDraft] = useState({
    status: filters.status ?? '',
    recipient: filters.recipient ?? '',
    from: '',
    to: '',
  });
  const [lookup, setLookup] = useState('');
  const pager = usePager(JSON.stringify(filters));
  const list = useQuery(emailQueries.list(filters, pager.cursor));

  const apply = (e: FormEvent) => {
    e.preventDefault();
    const next: EmailFilters = {};
    if (isEmailStatus(draft.status)) next.status = draft.status;
    if (draft.recipient.trim()) next.recipient = draft.recipient.trim();
    const from = localInputToIso(draft.from);
    const to = localInputToIso(draft.to);
    if (from) next.from = from;
    if (to) next.to = to;
    setFilters(next);
  };

  const onLookup = (e: FormEvent) => {
    e.preventDefault();
    if (lookup.trim()) navigate(`/emails/${encodeURIComponent(lookup.trim())}`);
  };

  return (
    <>
      <PageHeader title="Emails" />
      <Panel title="Look up an email">
        <form className="inline-form" onSubmit={onLookup}>
          <Field label="Email id">
            {(id) => (
              <input
                id={id}
                className="mono wide"
                placeholder="e.g. 0f8c…"
                value={lookup}
                onChange={(e) => setLookup(e.target.value)}
              />
            )}
          </Field>
          <button type="submit">Look up</button>
        </form>
      </Panel>
      <Panel title="Filter">
        <form className="inline-form" onSubmit={apply}>
          <Field label="Status">
            {(id) => (
              <select
                id={id}
                value={draft.status}
                onChange={(e) => setDraft({ ...draft, status: e.target.value })}
              >
                <option value="">Any</option>
                {EMAIL_STATUSES.map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Recipient">
            {(id) => (
              <input
                id={id}
                type="email"
                value={draft.recipient}
                onChange={(e) => setDraft({ ...draft, recipient: e.target.value })}
              />
            )}
          </Field>
          <Field label="From">
            {(id) => (
              <input
                id={id}
                type="datetime-local"
                value={draft.from}
                onChange={(e) => setDraft({ ...draft, from: e.target.value })}
              />
            )}
          </Field>
          <Field label="To">
            {(id) => (
              <input
                id={id}
                type="datetime-local"
                value={draft.to}
                onChange={(e) => setDraft({ ...draft, to: e.target.value })}
              />
            )}
          </Field>
          <button type="submit">Apply</button>
          <button
            type="button"
            className="secondary"
            onClick={() => {
              setDraft({ status: '', recipient: '', from: '', to: '' });
              setFilters({});
            }}
          >
            Clear
          </button>
        </form>
      </Panel>
      <Panel>
        {filters.bulk_job_id && (
          <p className="notice">
            Emails of bulk job <code>{filters.bulk_job_id}</code>.{' '}
            <button
              type="button"
              className="link"
              onClick={() => setFilters({ ...filters, bulk_job_id: undefined })}
            >
              Show all
            </button>
          </p>
        )}
        <QueryTable
          query={list}
          what="emails"
          empty="No emails match."
          pager={pager}
          columns={['Created', 'Recipient', 'Subject', 'Status', 'Attempts', 'Email']}
          rowKey={(e) => e.email_id}
          row={(e) => (
            <>
              <td className="nowrap">{formatTime(e.created_at)}</td>
              <td>{e.recipient.email}</td>
              <td>{e.subject ?? <span className="muted">not rendered yet</span>}</td>
              <td>
                <StatusBadge status={e.status} />
              </td>
              <td>{e.attempts}</td>
              <td>
                <Link to={`/emails/${e.email_id}`} className="mono">
                  {e.email_id.slice(0, 8)}…
                </Link>
              </td>
            </>
          )}
        />
      </Panel>
    </>
  );
}
