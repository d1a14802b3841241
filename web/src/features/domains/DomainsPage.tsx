import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { QueryTable } from '../../components/ui/DataTable';
import { ErrorMessage } from '../../components/ui/ErrorMessage';
import { Field } from '../../components/ui/Field';
import { PageHeader, Panel } from '../../components/ui/Page';
import { usePager } from '../../components/ui/Pager';
import { StatusBadge } from '../../components/ui/StatusBadge';
import { formatTime, mailboxText } from '../../lib/format';
import { Link, navigate } from '../../lib/router';
import { domainQueries, useCreateDomain, useSetSendingDefaults } from './api';

/** The tenant's sending domains: add one, see each one's state, and the default sender. */
export function DomainsPage() {
  const pager = usePager('domains');
  const [name, setName] = useState('');
  const [returnPath, setReturnPath] = useState('');
  const list = useQuery({ ...domainQueries.list(pager.cursor), placeholderData: keepPreviousData });
  const add = useCreateDomain({ onSuccess: (d) => navigate(`/domains/${d.id}`) });
  const onAdd = (e: FormEvent) => {
    e.preventDefault();
    add.mutate({ name: name.trim(), ...(returnPath.trim() ? { return_path: returnPath.trim() } : {}) });
  };

  return (
    <>
      <PageHeader title="Domains" />
      <Panel title="Add a domain">
        <p className="muted">
          Send as any address on a domain of yours: add it, publish the DNS records shown next, and mail from
          it is DKIM-signed once they are found.
        </p>
        <form className="inline-form" onSubmit={onAdd}>
          <Field label="Domain name">
            {(id) => (
              <input
                id={id}
                required
                placeholder="example.com"
                value={name}
                onChange={(e) => setName(e.target.value)}
              />
            )}
          </Field>
          <Field label="Bounce subdomain (optional)">
            {(id) => (
              <input
                id={id}
                placeholder="bounces"
                value={returnPath}
                onChange={(e) => setReturnPath(e.target.value)}
              />
            )}
          </Field>
          <button type="submit" className="primary" disabled={add.isPending}>
            {add.isPending ? 'Adding…' : 'Add domain'}
          </button>
        </form>
        <ErrorMessage error={add.error} title="The domain was not added" />
      </Panel>
      <Panel title="Your domains">
        <QueryTable
          query={list}
          what="domains"
          empty="No domains yet: mail goes out from the installation's address."
          pager={pager}
          columns={['Domain', 'Status', 'DKIM selector', 'Checked']}
          rowKey={(d) => d.id}
          row={(d) => (
            <>
              <td>
                <Link to={`/domains/${d.id}`}>{d.name}</Link>
              </td>
              <td>
                <StatusBadge status={d.status} />
              </td>
              <td>
                <code>{d.dkim_selector}</code>
              </td>
              <td className="nowrap">{d.checked_at ? formatTime(d.checked_at) : 'not yet'}</td>
            </>
          )}
        />
      </Panel>
      <SendingDefaultsPanel />
    </>
  );
}

function SendingDefaultsPanel() {
  const defaults = useQuery(domainQueries.defaults());
  const [from, setFrom] = useState('');
  const [replyTo, setReplyTo] = useState('');
  useEffect(() => {
    if (defaults.data) {
      setFrom(mailboxText(defaults.data.from));
      setReplyTo(mailboxText(defaults.data.reply_to));
    }
  }, [defaults.data]);
  const save = useSetSendingDefaults();
  return (
    <Panel title="Default sender">
      <p className="muted">
        Used when neither the request nor its template names a sender. Empty: the installation's address.
      </p>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate({ from: from.trim() || null, reply_to: replyTo.trim() || null });
        }}
      >
        <Field label="Default From">
          {(id) => (
            <input
              id={id}
              placeholder="Billing <billing@example.com>"
              value={from}
              onChange={(e) => setFrom(e.target.value)}
            />
          )}
        </Field>
        <Field label="Default Reply-To">
          {(id) => <input id={id} value={replyTo} onChange={(e) => setReplyTo(e.target.value)} />}
        </Field>
        <button type="submit" className="primary" disabled={save.isPending}>
          Save
        </button>
      </form>
      <ErrorMessage error={defaults.error ?? save.error} title="The default sender was not saved" />
      {save.isSuccess && (
        <p className="muted" role="status">
          Saved.
        </p>
      )}
    </Panel>
  );
}
