import { type FormEvent, useState } from 'react';
import { TemplatePicker } from '../../components/TemplatePicker';
import { ErrorMessage } from '../../components/ui/ErrorMessage';
import { Field } from '../../components/ui/Field';
import { PageHeader, Panel } from '../../components/ui/Page';
import { StatusBadge } from '../../components/ui/StatusBadge';
import {
  DEFAULT_TRACKING,
  type TrackingChoices,
  TrackingOptions,
  trackingFields,
} from '../../components/ui/TrackingOptions';
import { VariableInputs } from '../../components/ui/VariableInputs';
import { localInputToIso, parseJsonObject, variableValue } from '../../lib/format';
import { Link } from '../../lib/router';
import { missingVariables, useTemplateVariables, withNames } from '../../lib/template-queries';
import { type SendRequest, useSendEmail } from './api';

export function SendPage() {
  const [templateId, setTemplateId] = useState('');
  const variables = useTemplateVariables(templateId || undefined);
  const [values, setValues] = useState<Record<string, string>>({});
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [metadata, setMetadata] = useState('');
  const [idempotencyKey, setIdempotencyKey] = useState('');
  const [sendAt, setSendAt] = useState('');
  const [from, setFrom] = useState('');
  const [replyTo, setReplyTo] = useState('');
  const [tracking, setTracking] = useState<TrackingChoices>(DEFAULT_TRACKING);
  const [formError, setFormError] = useState<string | null>(null);
  const send = useSendEmail();
  // The template lists what it needs; should a send still answer 422 (a newer version came in
  // meanwhile), the names it reports join the form.
  const names = withNames(variables.data ?? [], missingVariables(send.error));

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    setFormError(null);
    let meta: Record<string, unknown>;
    try {
      meta = parseJsonObject(metadata, 'Metadata');
    } catch (err) {
      setFormError((err as Error).message);
      return;
    }
    const vars: Record<string, unknown> = {};
    for (const n of names) vars[n] = variableValue(values[n] ?? '');
    const body: SendRequest = {
      recipient: { email: email.trim(), ...(name.trim() ? { name: name.trim() } : {}) },
      template_id: templateId,
      variables: vars,
      ...(Object.keys(meta).length ? { metadata: meta } : {}),
      ...(idempotencyKey.trim() ? { idempotency_key: idempotencyKey.trim() } : {}),
      ...(from.trim() ? { from: from.trim() } : {}),
      ...(replyTo.trim() ? { reply_to: replyTo.trim() } : {}),
      ...trackingFields(tracking),
    };
    const at = localInputToIso(sendAt);
    if (at) body.send_at = at;
    send.mutate(body);
  };

  return (
    <>
      <PageHeader title="Send an email" />
      <div className="columns">
        <Panel title="Message">
          <form onSubmit={onSubmit} className="form">
            <TemplatePicker
              required
              value={templateId}
              onChange={(v) => {
                setTemplateId(v);
                send.reset();
              }}
            />
            <ErrorMessage error={variables.error} title="The template's variables could not be read" />
            <VariableInputs names={names} values={values} onChange={setValues} />
            <div className="grid-2">
              <Field label="Recipient email">
                {(id) => (
                  <input
                    id={id}
                    type="email"
                    required
                    autoComplete="off"
                    value={email}
                    onChange={(e) => setEmail(e.target.value)}
                  />
                )}
              </Field>
              <Field label="Recipient name">
                {(id) => <input id={id} value={name} onChange={(e) => setName(e.target.value)} />}
              </Field>
            </div>
            <div className="grid-2">
              <Field
                label="From (optional)"
                hint="On a verified domain; empty: the template's or default sender."
              >
                {(id, hint) => (
                  <input
                    id={id}
                    aria-describedby={hint}
                    placeholder="Billing <billing@example.com>"
                    value={from}
                    onChange={(e) => setFrom(e.target.value)}
                  />
                )}
              </Field>
              <Field label="Reply-To (optional)">
                {(id) => <input id={id} value={replyTo} onChange={(e) => setReplyTo(e.target.value)} />}
              </Field>
            </div>
            <TrackingOptions value={tracking} onChange={setTracking} />
            <Field label="Metadata (JSON)" hint='Stored with the email, e.g. {"order": "1234"}'>
              {(id, hint) => (
                <textarea
                  id={id}
                  aria-describedby={hint}
                  rows={3}
                  className="mono"
                  value={metadata}
                  onChange={(e) => setMetadata(e.target.value)}
                />
              )}
            </Field>
            <div className="grid-2">
              <Field label="Idempotency key" hint="The same key and body answer with the first email.">
                {(id, hint) => (
                  <input
                    id={id}
                    aria-describedby={hint}
                    value={idempotencyKey}
                    onChange={(e) => setIdempotencyKey(e.target.value)}
                  />
                )}
              </Field>
              <Field label="Send at (optional)" hint="Your local time; empty sends now.">
                {(id, hint) => (
                  <input
                    id={id}
                    aria-describedby={hint}
                    type="datetime-local"
                    value={sendAt}
                    onChange={(e) => setSendAt(e.target.value)}
                  />
                )}
              </Field>
            </div>
            {formError && (
              <p className="error" role="alert">
                {formError}
              </p>
            )}
            <div className="actions">
              <button type="submit" className="primary" disabled={send.isPending || !templateId}>
                {send.isPending ? 'Sending…' : 'Send'}
              </button>
            </div>
          </form>
        </Panel>
        <Panel title="Result">
          <ErrorMessage error={send.error} title="The email was not accepted" />
          {send.data ? (
            <div className="result" aria-live="polite">
              <p>
                Accepted as <StatusBadge status={send.data.status} />
                {send.data.idempotency_reused &&
                  ' (the idempotency key was used before: this is the first email)'}
              </p>
              <p>
                Email id: <code>{send.data.email_id}</code>
              </p>
              <p>
                <Link to={`/emails/${send.data.email_id}`} className="button">
                  Open the email
                </Link>
              </p>
            </div>
          ) : (
            !send.error && <p className="muted">Fill in the form and send; the result shows here.</p>
          )}
        </Panel>
      </div>
    </>
  );
}
