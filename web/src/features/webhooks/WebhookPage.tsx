import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { QueryTable } from '../../components/ui/DataTable';
import { ErrorMessage } from '../../components/ui/ErrorMessage';
import { Loading, PageHeader, Panel } from '../../components/ui/Page';
import { usePager } from '../../components/ui/Pager';
import { StatusBadge } from '../../components/ui/StatusBadge';
import { formatTime } from '../../lib/format';
import { Link, navigate } from '../../lib/router';
import {
  useRemoveEndpoint,
  useRetryDelivery,
  useRotateSecret,
  useSendTest,
  useUpdateEndpoint,
  type WebhookDelivery,
  webhookQueries,
} from './api';
import { EndpointForm } from './EndpointForm';
import { SecretOnce } from './SecretOnce';

/** One endpoint: enable/disable, rotate its secret, send a test, and its delivery log with retry. */
export function WebhookPage({ id }: { id: string }) {
  const qc = useQueryClient();
  const endpoint = useQuery(webhookQueries.one(id));
  const [secret, setSecret] = useState<string | null>(null);
  const update = useUpdateEndpoint();
  const rotate = useRotateSecret({ onSuccess: (e) => setSecret(e.secret) });
  const test = useSendTest();
  const remove = useRemoveEndpoint({
    onSuccess: () => {
      qc.removeQueries({ queryKey: webhookQueries.one(id).queryKey });
      navigate('/webhooks');
    },
  });

  if (endpoint.isPending) return <Loading what="Loading the endpoint" />;
  const e = endpoint.data;
  return (
    <>
      <PageHeader title="Webhook endpoint">
        <Link to="/webhooks">← All endpoints</Link>
      </PageHeader>
      <ErrorMessage error={endpoint.error} title="The endpoint could not be loaded" />
      {e && (
        <>
          <Panel title="Endpoint">
            <dl className="facts">
              <dt>URL</dt>
              <dd>
                <code>{e.url}</code>
              </dd>
              <dt>Events</dt>
              <dd>{e.events.join(', ')}</dd>
              <dt>State</dt>
              <dd data-testid="endpoint-state">
                <StatusBadge status={e.enabled ? 'enabled' : 'disabled'} />
                {e.disabled_reason && <span className="muted"> {e.disabled_reason}</span>}
              </dd>
              {e.failing_since && (
                <>
                  <dt>Failing since</dt>
                  <dd>{formatTime(e.failing_since)}</dd>
                </>
              )}
              {e.previous_secret_expires_at && (
                <>
                  <dt>Previous secret</dt>
                  <dd>signs too until {formatTime(e.previous_secret_expires_at)}</dd>
                </>
              )}
            </dl>
            <div className="actions">
              <button
                type="button"
                className="primary"
                disabled={test.isPending}
                onClick={() => test.mutate(id)}
              >
                Send test event
              </button>
              <button
                type="button"
                className="secondary"
                disabled={update.isPending}
                onClick={() => update.mutate({ id, patch: { enabled: !e.enabled } })}
              >
                {e.enabled ? 'Disable' : 'Enable'}
              </button>
              <button
                type="button"
                className="secondary"
                disabled={rotate.isPending}
                onClick={() => {
                  if (window.confirm('Rotate the secret? The current one keeps signing for 24 hours.'))
                    rotate.mutate(id);
                }}
              >
                Rotate secret
              </button>
              <button
                type="button"
                className="danger"
                disabled={remove.isPending}
                onClick={() => {
                  if (window.confirm('Remove this endpoint and its delivery log?')) remove.mutate(id);
                }}
              >
                Remove
              </button>
            </div>
            {secret && <SecretOnce secret={secret} endpointId={id} />}
            {test.isSuccess && (
              <p className="muted" role="status">
                Test event queued: it appears in the log below.
              </p>
            )}
            <ErrorMessage error={rotate.error ?? test.error ?? remove.error} title="That did not work" />
          </Panel>
          <Panel title="Edit">
            <EndpointForm
              key={e.updated_at}
              initial={e}
              submitLabel={update.isPending ? 'Saving…' : 'Save changes'}
              pending={update.isPending}
              error={update.error}
              onSubmit={(f) => update.mutate({ id, patch: f })}
            />
          </Panel>
          <DeliveryLog endpointId={id} />
        </>
      )}
    </>
  );
}

function DeliveryLog({ endpointId }: { endpointId: string }) {
  const pager = usePager('webhook-deliveries');
  const log = useQuery({
    ...webhookQueries.deliveries(endpointId, pager.cursor),
    placeholderData: keepPreviousData,
  });
  const retry = useRetryDelivery();
  return (
    <Panel title="Deliveries">
      <ErrorMessage error={retry.error} title="The delivery was not retried" />
      <QueryTable
        query={log}
        what="deliveries"
        empty="Nothing sent to this endpoint yet."
        pager={pager}
        columns={['Event', 'Email', 'Status', 'Attempts', 'Last answer', 'Next attempt', '']}
        rowKey={(d) => d.id}
        row={(d: WebhookDelivery) => (
          <>
            <td>
              <code>{d.type}</code>
              <div className="muted nowrap">{formatTime(d.created_at)}</div>
            </td>
            <td>{d.email_id ? <Link to={`/emails/${d.email_id}`}>{d.email_id.slice(0, 8)}</Link> : '—'}</td>
            <td>
              <StatusBadge status={d.status} />
            </td>
            <td>{d.attempts}</td>
            <td>
              {d.last_status ?? (d.last_error ? 'no answer' : '—')}
              {d.last_latency_ms !== null && <span className="muted"> {d.last_latency_ms} ms</span>}
              {d.last_error && <div className="muted">{d.last_error}</div>}
            </td>
            <td className="nowrap">{d.next_attempt_at ? formatTime(d.next_attempt_at) : '—'}</td>
            <td>
              {d.status !== 'pending' && (
                <button
                  type="button"
                  className="secondary"
                  aria-label={`Retry the ${d.type} delivery`}
                  disabled={retry.isPending}
                  onClick={() => retry.mutate({ id: endpointId, deliveryId: d.id })}
                >
                  Retry
                </button>
              )}
            </td>
          </>
        )}
      />
    </Panel>
  );
}
