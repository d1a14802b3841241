import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { QueryTable } from '../../components/ui/DataTable';
import { ErrorMessage } from '../../components/ui/ErrorMessage';
import { Field } from '../../components/ui/Field';
import { PageHeader, Panel } from '../../components/ui/Page';
import { usePager } from '../../components/ui/Pager';
import { StatusBadge } from '../../components/ui/StatusBadge';
import type { Tenant } from '../../lib/api';
import { formatTime } from '../../lib/format';
import { Link } from '../../lib/router';
import { adminQueries, useCreateTenant, useSetTenantStatus } from './api';

export function TenantsPage() {
  const pager = usePager('tenants');
  const [name, setName] = useState('');
  const [id, setId] = useState('');
  const list = useQuery(adminQueries.tenants(pager.cursor));
  const create = useCreateTenant({
    onSuccess: () => {
      setName('');
      setId('');
    },
  });
  const setStatus = useSetTenantStatus();

  const onCreate = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ name: name.trim(), ...(id.trim() ? { id: id.trim() } : {}) });
  };

  return (
    <>
      <PageHeader title="Tenants" />
      <Panel title="Create a tenant">
        <form className="inline-form" onSubmit={onCreate}>
          <Field label="Tenant name">
            {(fid) => <input id={fid} required value={name} onChange={(e) => setName(e.target.value)} />}
          </Field>
          <Field label="Tenant id (optional)" hint="Letters, digits, . _ -; generated when empty.">
            {(fid, hint) => (
              <input id={fid} aria-describedby={hint} value={id} onChange={(e) => setId(e.target.value)} />
            )}
          </Field>
          <button type="submit" className="primary" disabled={create.isPending}>
            Create tenant
          </button>
        </form>
        <ErrorMessage error={create.error} title="The tenant was not created" />
        {create.data && (
          <p className="success" role="status">
            Created <Link to={`/admin/tenants/${create.data.id}`}>{create.data.name}</Link>. Open it to create
            an API key.
          </p>
        )}
      </Panel>
      <Panel title="All tenants">
        <ErrorMessage error={setStatus.error} title="The tenant was not changed" />
        <QueryTable
          query={list}
          what="tenants"
          empty="No tenants yet."
          pager={pager}
          columns={['Name', 'Id', 'Status', 'Created', '']}
          rowKey={(t) => t.id}
          row={(t) => (
            <>
              <td>
                <Link to={`/admin/tenants/${t.id}`}>{t.name}</Link>
              </td>
              <td className="mono">{t.id}</td>
              <td>
                <StatusBadge status={t.status} />
              </td>
              <td className="nowrap">{formatTime(t.created_at)}</td>
              <td>
                <SuspendButton
                  tenant={t}
                  busy={setStatus.isPending}
                  onToggle={(status) => setStatus.mutate({ id: t.id, status })}
                />
              </td>
            </>
          )}
        />
      </Panel>
    </>
  );
}

export function SuspendButton({
  tenant,
  busy,
  onToggle,
}: {
  tenant: Pick<Tenant, 'name' | 'status'>;
  busy: boolean;
  onToggle: (status: Tenant['status']) => void;
}) {
  return tenant.status === 'active' ? (
    <button
      type="button"
      className="danger"
      disabled={busy}
      aria-label={`Suspend ${tenant.name}`}
      onClick={() => {
        if (window.confirm(`Suspend ${tenant.name}? Its keys stop working at once.`)) onToggle('suspended');
      }}
    >
      Suspend
    </button>
  ) : (
    <button
      type="button"
      disabled={busy}
      aria-label={`Reactivate ${tenant.name}`}
      onClick={() => onToggle('active')}
    >
      Reactivate
    </button>
  );
}
