import { lazy, type ReactNode, Suspense } from 'react';
import { Loading } from '../components/ui/Page';
import { TenantPage } from '../features/admin/TenantPage';
import { TenantsPage } from '../features/admin/TenantsPage';
import { BulkPage } from '../features/bulk/BulkPage';
import { DeadLettersPage } from '../features/dead-letters/DeadLettersPage';
import { DomainPage } from '../features/domains/DomainPage';
import { DomainsPage } from '../features/domains/DomainsPage';
import { EmailPage } from '../features/emails/EmailPage';
import { EmailsPage } from '../features/emails/EmailsPage';
import { InboxMessagePage, InboxPage } from '../features/inbox/InboxPage';
import { SendPage } from '../features/send/SendPage';
import { SuppressionsPage } from '../features/suppressions/SuppressionsPage';
import { TemplatePage } from '../features/templates/TemplatePage';
import { TemplatesPage } from '../features/templates/TemplatesPage';
import { WebhookPage } from '../features/webhooks/WebhookPage';
import { WebhooksPage } from '../features/webhooks/WebhooksPage';
import type { Session } from '../lib/session';

// The chart library is most of the bundle; only the analytics page needs it.
const AnalyticsPage = lazy(() =>
  import('../features/analytics/AnalyticsPage').then((m) => ({ default: m.AnalyticsPage })),
);

export interface RouteDef {
  path: string;
  /** Shown in the navigation when set. */
  nav?: string;
  render: (params: Record<string, string>, query: URLSearchParams) => ReactNode;
}

const positiveInt = (v: string | null) => {
  const n = v ? Number(v) : Number.NaN;
  return Number.isInteger(n) && n > 0 ? n : undefined;
};

export const TENANT_ROUTES: RouteDef[] = [
  { path: '/send', nav: 'Send', render: () => <SendPage /> },
  { path: '/bulk', nav: 'Bulk', render: () => <BulkPage /> },
  { path: '/emails', nav: 'Emails', render: () => <EmailsPage /> },
  { path: '/emails/:id', render: (p) => <EmailPage key={p.id} id={p.id as string} /> },
  {
    path: '/analytics',
    nav: 'Analytics',
    render: () => (
      <Suspense fallback={<Loading what="Loading charts" />}>
        <AnalyticsPage />
      </Suspense>
    ),
  },
  { path: '/templates', nav: 'Templates', render: () => <TemplatesPage /> },
  { path: '/templates/new', render: () => <TemplatePage key="new" id={null} /> },
  {
    path: '/templates/:id',
    render: (p, q) => {
      const version = positiveInt(q.get('version'));
      return <TemplatePage key={`${p.id}@${version ?? 'latest'}`} id={p.id as string} version={version} />;
    },
  },
  { path: '/domains', nav: 'Domains', render: () => <DomainsPage /> },
  { path: '/domains/:id', render: (p) => <DomainPage key={p.id} id={p.id as string} /> },
  { path: '/webhooks', nav: 'Webhooks', render: () => <WebhooksPage /> },
  { path: '/webhooks/:id', render: (p) => <WebhookPage key={p.id} id={p.id as string} /> },
  { path: '/dead-letters', nav: 'Dead letters', render: () => <DeadLettersPage /> },
  { path: '/suppressions', nav: 'Suppressions', render: () => <SuppressionsPage /> },
  { path: '/inbox', nav: 'Inbox', render: () => <InboxPage /> },
  { path: '/inbox/:id', render: (p) => <InboxMessagePage key={p.id} id={p.id as string} /> },
];

export const ADMIN_ROUTES: RouteDef[] = [
  { path: '/admin', nav: 'Tenants and keys', render: () => <TenantsPage /> },
  { path: '/admin/tenants/:id', render: (p) => <TenantPage key={p.id} id={p.id as string} /> },
];

export const routesFor = (s: Session) => (s.kind === 'admin' ? ADMIN_ROUTES : TENANT_ROUTES);
export const homeFor = (s: Session) => (s.kind === 'admin' ? '/admin' : '/send');
