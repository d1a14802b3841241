import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { QueryTable } from '../../components/ui/DataTable';
import { ErrorMessage } from '../../components/ui/ErrorMessage';
import { Field } from '../../components/ui/Field';
import { Loading, PageHeader, Panel } from '../../components/ui/Page';
import { usePager } from '../../components/ui/Pager';
import { formatNumber, formatTime } from '../../lib/format';
import { Link, navigate } from '../../lib/router';
import { type InboxMessage, inboxQueries, useDeleteInboxMessage } from './api';

/** Mail captured instead of delivered (test-mode keys): what Mailpit shows a developer. */
export function InboxPage() {
  const pager = usePager('inbox');
  const [q, setQ] = useState('');
  const list = useQuery({ ...inboxQueries.list(q.trim(), pager.cursor), placeholderData: keepPreviousData });
  return (
    <>
      <PageHeader title="Inbox" />
      <Panel>
        <p className="muted">
          Mail sent with a test-mode key (<code>ms_test_…</code>) is kept here and never delivered.
        </p>
        <Field label="Search recipient or subject">
          {(id) => <input id={id} type="search" value={q} onChange={(e) => setQ(e.target.value)} />}
        </Field>
        <QueryTable
          query={list}
          what="captured messages"
          empty="Nothing captured yet: send with a test-mode key."
          pager={pager}
          columns={['Received', 'To', 'Subject', 'Size']}
          rowKey={(m) => m.id}
          row={(m) => (
            <>
              <td className="nowrap">{formatTime(m.received_at)}</td>
              <td>{m.to}</td>
              <td>
                <Link to={`/inbox/${m.id}`}>{m.subject || '(no subject)'}</Link>
              </td>
              <td className="nowrap">{formatNumber(m.size)} B</td>
            </>
          )}
        />
      </Panel>
    </>
  );
}

export function InboxMessagePage({ id }: { id: string }) {
  const message = useQuery(inboxQueries.one(id));
  const remove = useDeleteInboxMessage({ onSuccess: () => navigate('/inbox') });
  return (
    <>
      <PageHeader title="Captured message">
        <Link to="/inbox">← Inbox</Link>
      </PageHeader>
      <ErrorMessage error={message.error} title={`Message ${id} could not be loaded`} />
      {message.isPending && <Loading what="Loading the message" />}
      {message.data && <MessageView message={message.data} />}
      {message.data && (
        <Panel>
          <button
            type="button"
            className="danger"
            onClick={() => remove.mutate(id)}
            disabled={remove.isPending}
          >
            Delete this message
          </button>
          <ErrorMessage error={remove.error} title="The message was not deleted" />
        </Panel>
      )}
    </>
  );
}

function MessageView({ message }: { message: InboxMessage }) {
  return (
    <div className="columns">
      <Panel title={message.subject || '(no subject)'}>
        <dl className="facts">
          <dt>From</dt>
          <dd>{message.from}</dd>
          <dt>To</dt>
          <dd>{message.to}</dd>
          <dt>Received</dt>
          <dd>{formatTime(message.received_at)}</dd>
          {message.email_id && (
            <>
              <dt>Email</dt>
              <dd>
                <Link to={`/emails/${message.email_id}`}>{message.email_id}</Link>
              </dd>
            </>
          )}
          {message.attachments.length > 0 && (
            <>
              <dt>Attachments</dt>
              <dd>
                <ul className="plain" aria-label="Attachments">
                  {message.attachments.map((a, i) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: a message's attachments never change
                    <li key={i}>
                      {a.filename ?? '(unnamed)'}{' '}
                      <span className="muted">
                        {a.content_type}, {formatNumber(a.size)} B
                      </span>
                    </li>
                  ))}
                </ul>
              </dd>
            </>
          )}
        </dl>
        <h3>HTML</h3>
        {message.html === null ? (
          <p className="muted">No HTML part.</p>
        ) : (
          // The HTML is tenant content: a frame with no scripts, no same-origin access, no forms.
          <iframe title="HTML part" className="preview-frame" sandbox="" srcDoc={message.html} />
        )}
      </Panel>
      <Panel title="Text and headers">
        <h3>Text</h3>
        <pre className="text-part">{message.text ?? '(no text part)'}</pre>
        <h3>Headers</h3>
        <dl className="facts headers">
          {message.headers.map((h, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: headers repeat (Received), order names one
            <div key={i}>
              <dt>{h.name}</dt>
              <dd className="mono">{h.value}</dd>
            </div>
          ))}
        </dl>
      </Panel>
    </div>
  );
}
