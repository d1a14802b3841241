import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { DataTable } from '../../components/ui/DataTable';
import { ErrorMessage } from '../../components/ui/ErrorMessage';
import { Loading, PageHeader, Panel } from '../../components/ui/Page';
import { StatusBadge } from '../../components/ui/StatusBadge';
import { formatTime } from '../../lib/format';
import { Link, navigate } from '../../lib/router';
import {
  type DnsRecord,
  type Domain,
  domainQueries,
  STATUS_TEXT,
  useRemoveDomain,
  useRotateDkim,
  useVerifyDomain,
} from './api';

const PURPOSE: Record<DnsRecord['purpose'], string> = {
  dkim: 'DKIM key',
  spf: 'SPF',
  dmarc: 'DMARC',
  return_path: 'Bounce SPF',
};

/** One domain: the records to publish, each with a copy button and what DNS answers now. */
export function DomainPage({ id }: { id: string }) {
  const qc = useQueryClient();
  const domain = useQuery(domainQueries.one(id));
  const onChange = (d: Domain) => qc.setQueryData(domainQueries.one(id).queryKey, d);
  const verify = useVerifyDomain({ onSuccess: onChange });
  const rotate = useRotateDkim({ onSuccess: onChange });
  const remove = useRemoveDomain({
    onSuccess: () => {
      qc.removeQueries({ queryKey: domainQueries.one(id).queryKey });
      navigate('/domains');
    },
  });

  if (domain.isPending) return <Loading what="Looking the domain up in DNS" />;
  const d = domain.data;
  return (
    <>
      <PageHeader title={d ? `Domain ${d.name}` : 'Domain'}>
        <Link to="/domains">← All domains</Link>
      </PageHeader>
      <ErrorMessage error={domain.error} title="The domain could not be loaded" />
      {d && (
        <>
          <Panel title="State">
            <p aria-live="polite" data-testid="domain-status">
              <StatusBadge status={d.status} /> {STATUS_TEXT[d.status]}
            </p>
            {d.status_reason && <p className="notice">{d.status_reason}</p>}
            <dl className="facts">
              <dt>Signs with</dt>
              <dd>
                <code>{d.dkim_selector}</code>
                {d.pending_dkim_selector && (
                  <>
                    {' '}
                    (then <code>{d.pending_dkim_selector}</code>, once its record is found)
                  </>
                )}
              </dd>
              <dt>Last checked</dt>
              <dd>{d.checked_at ? formatTime(d.checked_at) : 'not yet'}</dd>
              <dt>Next check</dt>
              <dd>{d.next_check_at ? formatTime(d.next_check_at) : 'none (verify by hand)'}</dd>
              {d.return_path && (
                <>
                  <dt>Bounces to</dt>
                  <dd>
                    <code>bounces@{d.return_path}</code>{' '}
                    {d.return_path_verified ? '(in use)' : '(once its record is found)'}
                  </dd>
                </>
              )}
            </dl>
            <div className="actions">
              <button
                type="button"
                className="primary"
                disabled={verify.isPending}
                onClick={() => verify.mutate(id)}
              >
                {verify.isPending ? 'Checking…' : 'Verify now'}
              </button>
              <button
                type="button"
                className="secondary"
                disabled={rotate.isPending || d.status !== 'verified' || d.pending_dkim_selector !== null}
                onClick={() => rotate.mutate(id)}
              >
                Rotate DKIM key
              </button>
              <button
                type="button"
                className="danger"
                disabled={remove.isPending}
                onClick={() => {
                  if (window.confirm(`Remove ${d.name}? Mail from it will be refused.`)) remove.mutate(id);
                }}
              >
                Remove
              </button>
            </div>
            <ErrorMessage error={verify.error ?? rotate.error ?? remove.error} title="That did not work" />
          </Panel>
          <Panel title="DNS records to publish">
            <p className="muted">
              Add each record at your DNS host as a TXT record. The DKIM key is required; SPF and DMARC make
              receivers trust the mail more.
            </p>
            <DataTable
              columns={['Record', 'Name', 'Value', 'Found now']}
              items={d.records}
              rowKey={(r) => `${r.purpose}:${r.name}`}
              row={(r) => (
                <>
                  <td>
                    {PURPOSE[r.purpose]}
                    {r.key_state === 'pending' && ' (new)'}
                    {r.required ? '' : <span className="muted"> (recommended)</span>}
                  </td>
                  <td>
                    <CopyText text={r.name} label={`Copy the name of the ${PURPOSE[r.purpose]} record`} />
                  </td>
                  <td>
                    <CopyText text={r.value} label={`Copy the value of the ${PURPOSE[r.purpose]} record`} />
                  </td>
                  <td>
                    <StatusBadge status={r.verified ? 'verified' : 'pending'} />
                    {r.error && <small className="muted record-error">{r.error}</small>}
                  </td>
                </>
              )}
            />
          </Panel>
        </>
      )}
    </>
  );
}

function CopyText({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="copy-text">
      <code className="record-value">{text}</code>
      <button
        type="button"
        className="secondary"
        aria-label={label}
        onClick={() => {
          void navigator.clipboard?.writeText(text).then(
            () => {
              setCopied(true);
              setTimeout(() => setCopied(false), 2000);
            },
            () => setCopied(false),
          );
        }}
      >
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  );
}
