import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { QueryTable } from '../../components/ui/DataTable';
import { ErrorMessage } from '../../components/ui/ErrorMessage';
import { PageHeader, Panel } from '../../components/ui/Page';
import { usePager } from '../../components/ui/Pager';
import { StatusBadge } from '../../components/ui/StatusBadge';
import { formatTime } from '../../lib/format';
import { Link } from '../../lib/router';
import { deadLetterQueries, useRetryDeadLetter } from './api';

export function DeadLettersPage() {
  const [includeRetried, setIncludeRetried] = useState(false);
  const pager = usePager(String(includeRetried));
  const list = useQuery(deadLetterQueries.list(includeRetried, pager.cursor));
  const retry = useRetryDeadLetter();

  return (
    <>
      <PageHeader title="Dead letters" />
      <Panel>
        <p className="muted">
          Emails that failed for good. Retrying sends one again with a fresh retry budget; each dead letter
          can be retried once.
        </p>
        <label className="checkbox">
          <input
            type="checkbox"
            checked={includeRetried}
            onChange={(e) => setIncludeRetried(e.target.checked)}
          />{' '}
          Show retried ones too
        </label>
        <ErrorMessage error={retry.error} title="The retry was refused" />
        {retry.data && (
          <p className="success" role="status">
            Queued again: <Link to={`/emails/${retry.data.email_id}`}>open the email</Link>
          </p>
        )}
        <QueryTable
          query={list}
          what="dead letters"
          empty="No dead letters. Everything that failed has been dealt with."
          pager={pager}
          columns={['Failed', 'Recipient', 'Reason', 'Last error', 'Attempts', 'Email', '']}
          rowKey={(d) => d.id}
          row={(d) => (
            <>
              <td className="nowrap">{formatTime(d.created_at)}</td>
              <td>{d.recipient}</td>
              <td>{d.reason}</td>
              <td className="error-text">{d.last_error ?? '—'}</td>
              <td>{d.attempts}</td>
              <td>
                <Link to={`/emails/${d.email_id}`}>
                  <StatusBadge status={d.email_status} />
                </Link>
              </td>
              <td>
                {d.retried_at ? (
                  <span className="muted">retried {formatTime(d.retried_at)}</span>
                ) : (
                  <button
                    type="button"
                    onClick={() => retry.mutate(d.id)}
                    disabled={retry.isPending}
                    aria-label={`Retry the email to ${d.recipient}`}
                  >
                    Retry
                  </button>
                )}
              </td>
            </>
          )}
        />
      </Panel>
    </>
  );
}
