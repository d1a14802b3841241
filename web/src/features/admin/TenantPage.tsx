import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { QueryTable } from '../../components/ui/DataTable';
import { ErrorMessage } from '../../components/ui/ErrorMessage';
import { Field } from '../../components/ui/Field';
import { PageHeader, Panel } from '../../components/ui/Page';
import { StatusBadge } from '../../components/ui/StatusBadge';
import { formatTime } from '../../lib/format';
import { Link } from '../../lib/router';
import { adminQueries, useCreateKey, useRevokeKey, useSetTenantStatus } from './api';
import { SuspendButton } from './TenantsPage';

export function TenantPage({ id }: { id: string }) {
  const [keyName, setKeyName] = useState('');
  const [keyMode, setKeyMode] = useState<'live' | 'test'>('live');
  const tenant = useQuery(adminQueries.tenant(id));
  const keys = useQuery(adminQueries.keys(id));
  const setStatus = useSetTenantStatus();
  const createKey = useCreateKey({ onSuccess: () => setKeyName('') });
  const revoke = useRevokeKey();

  const onCreateKey = (e: FormEvent) => {
    e.preventDefault();
    createKey.mutate({ tenantId: id, name: keyName.trim(), mode: keyMode });
  };

  return (
    <>
      <PageHeader title={`Tenant ${tenant.data?.name ?? id}`}>
        <Link to="/admin">← All tenants</Link>
      </PageHeader>
      <ErrorMessage error={tenant.error} title="The tenant could not be loaded" />
      {tenant.data && (
        <Panel title="Tenant">
          <dl className="facts">
            <dt>Id</dt>
            <dd className="mono">{tenant.data.id}</dd>
            <dt>Status</dt>
            <dd>
              <StatusBadge status={tenant.data.status} />{' '}
              <SuspendButton
                tenant={tenant.data}
                busy={setStatus.isPending}
                onToggle={(status) => setStatus.mutate({ id, status })}
              />
            </dd>
            <dt>Rate limit</dt>
            <dd>
              {tenant.data.rate_limit_per_second === null
                ? 'the default'
                : `${tenant.data.rate_limit_per_second}/s, burst ${tenant.data.rate_limit_burst ?? 'default'}`}
            </dd>
            <dt>Created</dt>
            <dd>{formatTime(tenant.data.created_at)}</dd>
          </dl>
          <ErrorMessage error={setStatus.error} title="The tenant was not changed" />
        </Panel>
      )}
      <Panel title="API keys">
        <form className="inline-form" onSubmit={onCreateKey}>
          <Field label="Key name">
            {(fid) => (
              <input id={fid} required value={keyName} onChange={(e) => setKeyName(e.target.value)} />
            )}
          </Field>
          <Field label="Mode">
            {(fid) => (
              <select
                id={fid}
                value={keyMode}
                onChange={(e) => setKeyMode(e.target.value as 'live' | 'test')}
              >
                <option value="live">Live: mail is delivered</option>
                <option value="test">Test: mail is only captured in the inbox</option>
              </select>
            )}
          </Field>
          <button type="submit" className="primary" disabled={createKey.isPending}>
            Create key
          </button>
        </form>
        <ErrorMessage error={createKey.error} title="The key was not created" />
        {createKey.data && (
          <div className="secret" role="status">
            <p>
              <strong>Copy this key now: it is shown only once.</strong>
            </p>
            <code data-testid="new-key">{createKey.data.key}</code>{' '}
            <button type="button" onClick={() => navigator.clipboard?.writeText(createKey.data.key)}>
              Copy
            </button>
          </div>
        )}
        <ErrorMessage error={revoke.error} title="The key was not revoked" />
        <QueryTable
          query={keys}
          what="API keys"
          empty="No keys yet."
          columns={['Name', 'Prefix', 'Mode', 'Created', 'Last used', 'State']}
          rowKey={(k) => k.id}
          row={(k) => (
            <>
              <td>{k.name}</td>
              <td className="mono">{k.prefix}…</td>
              <td>{k.mode}</td>
              <td className="nowrap">{formatTime(k.created_at)}</td>
              <td className="nowrap">{formatTime(k.last_used_at)}</td>
              <td>
                {k.revoked_at ? (
                  <span className="muted">revoked {formatTime(k.revoked_at)}</span>
                ) : (
                  <button
                    type="button"
                    className="danger"
                    disabled={revoke.isPending}
                    aria-label={`Revoke key ${k.name}`}
                    onClick={() => {
                      if (window.confirm(`Revoke the key ${k.name}? Clients using it stop working.`))
                        revoke.mutate({ tenantId: id, keyId: k.id });
                    }}
                  >
                    Revoke
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
