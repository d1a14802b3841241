import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { QueryTable } from '../../components/ui/DataTable';
import { ErrorMessage } from '../../components/ui/ErrorMessage';
import { Field } from '../../components/ui/Field';
import { PageHeader, Panel } from '../../components/ui/Page';
import { usePager } from '../../components/ui/Pager';
import { formatTime } from '../../lib/format';
import {
  SUPPRESSION_REASONS,
  type SuppressionReason,
  suppressionQueries,
  useAddSuppression,
  useRemoveSuppression,
} from './api';

export function SuppressionsPage() {
  const pager = usePager('suppressions');
  const [email, setEmail] = useState('');
  const [reason, setReason] = useState<SuppressionReason>('manual');
  const list = useQuery(suppressionQueries.list(pager.cursor));
  const add = useAddSuppression({ onSuccess: () => setEmail('') });
  const remove = useRemoveSuppression();

  const onAdd = (e: FormEvent) => {
    e.preventDefault();
    add.mutate({ email: email.trim(), reason });
  };

  return (
    <>
      <PageHeader title="Suppressions" />
      <Panel title="Add an address">
        <p className="muted">
          Suppressed addresses get no email from this tenant. Hard bounces and complaints land here by
          themselves.
        </p>
        <form className="inline-form" onSubmit={onAdd}>
          <Field label="Email address">
            {(id) => (
              <input id={id} type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
            )}
          </Field>
          <Field label="Reason">
            {(id) => (
              <select id={id} value={reason} onChange={(e) => setReason(e.target.value as SuppressionReason)}>
                {SUPPRESSION_REASONS.map((r) => (
                  <option key={r} value={r}>
                    {r}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <button type="submit" className="primary" disabled={add.isPending}>
            Suppress
          </button>
        </form>
        <ErrorMessage error={add.error} title="The address was not added" />
      </Panel>
      <Panel title="Suppressed addresses">
        <ErrorMessage error={remove.error} title="The address was not removed" />
        <QueryTable
          query={list}
          what="suppressions"
          empty="No suppressed addresses."
          pager={pager}
          columns={['Address', 'Reason', 'Since', '']}
          rowKey={(s) => s.email}
          row={(s) => (
            <>
              <td>{s.email}</td>
              <td>{s.reason}</td>
              <td className="nowrap">{formatTime(s.created_at)}</td>
              <td>
                <button
                  type="button"
                  className="secondary"
                  disabled={remove.isPending}
                  aria-label={`Remove ${s.email}`}
                  onClick={() => remove.mutate(s.email)}
                >
                  Remove
                </button>
              </td>
            </>
          )}
        />
      </Panel>
    </>
  );
}
