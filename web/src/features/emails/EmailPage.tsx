import { useQuery } from '@tanstack/react-query';
import { ErrorMessage } from '../../components/ui/ErrorMessage';
import { JsonBlock, Loading, PageHeader, Panel } from '../../components/ui/Page';
import { StatusBadge } from '../../components/ui/StatusBadge';
import type { EmailWithEvents } from '../../lib/api';
import { formatTime } from '../../lib/format';
import { Link } from '../../lib/router';
import { emailQueries, useCancelEmail } from './api';

export function EmailPage({ id }: { id: string }) {
  const email = useQuery(emailQueries.one(id));
  const cancel = useCancelEmail();

  return (
    <>
      <PageHeader title="Email">
        <Link to="/emails">← All emails</Link>
      </PageHeader>
      <ErrorMessage error={email.error} title={`Email ${id} could not be loaded`} />
      {email.isPending && <Loading what="Loading the email" />}
      {email.data && <EmailView email={email.data} />}
      {email.data?.status === 'scheduled' && (
        <Panel>
          <button
            type="button"
            className="danger"
            onClick={() => cancel.mutate(id)}
            disabled={cancel.isPending}
          >
            Cancel this scheduled email
          </button>
          <ErrorMessage error={cancel.error} title="The email could not be cancelled" />
        </Panel>
      )}
    </>
  );
}

function EmailView({ email }: { email: EmailWithEvents }) {
  return (
    <div className="columns">
      <Panel title="Summary">
        <dl className="facts">
          <dt>Status</dt>
          <dd>
            <StatusBadge status={email.status} />
            {email.waiting_on === 'provider' && (
              <span className="muted" data-testid="waiting-on-provider">
                {' '}
                waiting on provider {email.provider} (no attempt spent meanwhile)
              </span>
            )}
          </dd>
          <dt>Email id</dt>
          <dd className="mono">{email.email_id}</dd>
          <dt>Recipient</dt>
          <dd>
            {email.recipient.name
              ? `${email.recipient.name} <${email.recipient.email}>`
              : email.recipient.email}
          </dd>
          <dt>Subject</dt>
          <dd>{email.subject ?? '—'}</dd>
          <dt>Template</dt>
          <dd>
            <Link to={`/templates/${email.template_id}`}>{email.template_id}</Link> v{email.template_version}
          </dd>
          <dt>Attempts</dt>
          <dd>{email.attempts}</dd>
          <dt>Last error</dt>
          <dd className={email.last_error ? 'error-text' : ''}>{email.last_error ?? '—'}</dd>
          <dt>Provider</dt>
          <dd>
            {email.provider}
            {email.provider_message_id && <span className="mono muted"> {email.provider_message_id}</span>}
          </dd>
          {email.next_attempt_at && (
            <>
              <dt>Next attempt</dt>
              <dd>{formatTime(email.next_attempt_at)}</dd>
            </>
          )}
          {email.tags && email.tags.length > 0 && (
            <>
              <dt>Tags</dt>
              <dd>
                {email.tags.map((t) => (
                  <code key={t} className="chip">
                    {t}
                  </code>
                ))}
              </dd>
            </>
          )}
          {email.send_at && (
            <>
              <dt>Send at</dt>
              <dd>{formatTime(email.send_at)}</dd>
            </>
          )}
          {email.bulk_job_id && (
            <>
              <dt>Bulk job</dt>
              <dd className="mono">{email.bulk_job_id}</dd>
            </>
          )}
          <dt>Created</dt>
          <dd>{formatTime(email.created_at)}</dd>
          <dt>Updated</dt>
          <dd>{formatTime(email.updated_at)}</dd>
        </dl>
        {Object.keys(email.metadata ?? {}).length > 0 && (
          <>
            <h3>Metadata</h3>
            <JsonBlock value={email.metadata} />
          </>
        )}
      </Panel>
      <Panel title="Timeline">
        <ol className="timeline" aria-label="Events">
          {email.events.map((ev, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: events are append-only, so a position names one event for good
            <li key={`${ev.type}-${ev.at}-${i}`} className={`event event-${ev.type}`}>
              <div className="event-head">
                <StatusBadge status={ev.type} />
                <time dateTime={ev.at}>{formatTime(ev.at)}</time>
              </div>
              {ev.data !== null && typeof ev.data === 'object' && Object.keys(ev.data).length > 0 && (
                <JsonBlock value={ev.data} />
              )}
            </li>
          ))}
        </ol>
      </Panel>
    </div>
  );
}
