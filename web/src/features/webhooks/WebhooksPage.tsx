import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { QueryTable } from '../../components/ui/DataTable';
import { PageHeader, Panel } from '../../components/ui/Page';
import { usePager } from '../../components/ui/Pager';
import { StatusBadge } from '../../components/ui/StatusBadge';
import { formatTime } from '../../lib/format';
import { Link } from '../../lib/router';
import { useCreateEndpoint, type WebhookEndpointWithSecret, webhookQueries } from './api';
import { EndpointForm } from './EndpointForm';
import { SecretOnce } from './SecretOnce';

/** The tenant's webhook endpoints: register one (its secret shown once) and see each one's state. */
export function WebhooksPage() {
  const pager = usePager('webhooks');
  const list = useQuery({ ...webhookQueries.list(pager.cursor), placeholderData: keepPreviousData });
  const [created, setCreated] = useState<WebhookEndpointWithSecret | null>(null);
  const create = useCreateEndpoint({ onSuccess: setCreated });
  return (
    <>
      <PageHeader title="Webhooks" />
      <Panel title="Add an endpoint">
        <p className="muted">
          Mailsystem POSTs each event you choose to your URL, signed per Standard Webhooks: verify it with the
          secret shown once, when the endpoint is created.
        </p>
        <EndpointForm
          submitLabel={create.isPending ? 'Adding…' : 'Add endpoint'}
          pending={create.isPending}
          error={create.error}
          onSubmit={(f) => create.mutate(f)}
          key={created?.id ?? 'new'}
        />
        {created && <SecretOnce secret={created.secret} endpointId={created.id} />}
      </Panel>
      <Panel title="Your endpoints">
        <QueryTable
          query={list}
          what="webhook endpoints"
          empty="No endpoints yet: events are only in the API and this console."
          pager={pager}
          columns={['URL', 'Events', 'State', 'Created']}
          rowKey={(e) => e.id}
          row={(e) => (
            <>
              <td>
                <Link to={`/webhooks/${e.id}`}>{e.url}</Link>
                {e.description && <div className="muted">{e.description}</div>}
              </td>
              <td>{e.events.join(', ')}</td>
              <td>
                <StatusBadge status={e.enabled ? 'enabled' : 'disabled'} />
              </td>
              <td className="nowrap">{formatTime(e.created_at)}</td>
            </>
          )}
        />
      </Panel>
    </>
  );
}
