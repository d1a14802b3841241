import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { QueryTable } from '../../components/ui/DataTable';
import { ErrorMessage } from '../../components/ui/ErrorMessage';
import { Field } from '../../components/ui/Field';
import { PageHeader, Panel } from '../../components/ui/Page';
import { usePager } from '../../components/ui/Pager';
import { StatusBadge } from '../../components/ui/StatusBadge';
import { formatTime } from '../../lib/format';
import { Link } from '../../lib/router';
import {
  EVENT_TYPES,
  type EventType,
  useCreateEndpoint,
  type WebhookEndpointWithSecret,
  webhookQueries,
} from './api';
import { SecretOnce } from './SecretOnce';

/** The tenant's webhook endpoints: register one (its secret shown once) and see each one's state. */
export function WebhooksPage() {
  const pager = usePager('webhooks');
  const list = useQuery({ ...webhookQueries.list(pager.cursor), placeholderData: keepPreviousData });
  const [created, setCreated] = useState<WebhookEndpointWithSecret | null>(null);
  return (
    <>
      <PageHeader title="Webhooks" />
      <Panel title="Add an endpoint">
        <p className="muted">
          Mailsystem POSTs each event you choose to your URL, signed per Standard Webhooks: verify it with the
          secret shown once, when the endpoint is created.
        </p>
        <EndpointForm onCreated={setCreated} />
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

function EndpointForm({ onCreated }: { onCreated: (e: WebhookEndpointWithSecret) => void }) {
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [all, setAll] = useState(true);
  const [events, setEvents] = useState<EventType[]>([]);
  const create = useCreateEndpoint({
    onSuccess: (e) => {
      onCreated(e);
      setUrl('');
      setDescription('');
    },
  });
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({
      url: url.trim(),
      events: all ? ['*'] : events,
      ...(description.trim() ? { description: description.trim() } : {}),
    });
  };
  return (
    <form className="stack-form" onSubmit={onSubmit}>
      <Field label="Endpoint URL">
        {(id) => (
          <input
            id={id}
            type="url"
            required
            placeholder="https://example.com/hooks/mail"
            value={url}
            onChange={(e) => setUrl(e.target.value)}
          />
        )}
      </Field>
      <Field label="Description (optional)">
        {(id) => <input id={id} value={description} onChange={(e) => setDescription(e.target.value)} />}
      </Field>
      <fieldset>
        <legend>Events</legend>
        <label>
          <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} /> All events
        </label>
        {!all &&
          EVENT_TYPES.map((t) => (
            <label key={t}>
              <input
                type="checkbox"
                checked={events.includes(t)}
                onChange={(e) =>
                  setEvents((cur) => (e.target.checked ? [...cur, t] : cur.filter((x) => x !== t)))
                }
              />{' '}
              {t}
            </label>
          ))}
      </fieldset>
      <button type="submit" className="primary" disabled={create.isPending || (!all && events.length === 0)}>
        {create.isPending ? 'Adding…' : 'Add endpoint'}
      </button>
      <ErrorMessage error={create.error} title="The endpoint was not added" />
    </form>
  );
}
