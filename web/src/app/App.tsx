import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useEffect, useSyncExternalStore } from 'react';
import { ProviderBanner } from '../components/ProviderBanner';
import { PageHeader } from '../components/ui/Page';
import { useMe } from '../features/auth/api';
import { SignInPage } from '../features/auth/SignInPage';
import { ApiError } from '../lib/api';
import { Link, match, navigate, useLocation } from '../lib/router';
import { getSession, maskToken, type Session, setSession, subscribeSession } from '../lib/session';
import { homeFor, routesFor } from './routes';

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // A 4xx will not change by asking again; a network blip or a 5xx might.
      retry: (count, err) => count < 2 && !(err instanceof ApiError && err.status >= 400 && err.status < 500),
      refetchOnWindowFocus: false,
      staleTime: 5_000,
    },
  },
});

export function App() {
  const session = useSyncExternalStore(subscribeSession, getSession);
  useEffect(() => {
    // What one identity loaded must never show under the next one.
    if (!session) queryClient.clear();
  }, [session]);
  return (
    <QueryClientProvider client={queryClient}>
      {session ? <Shell session={session} /> : <SignInPage />}
    </QueryClientProvider>
  );
}

function Shell({ session }: { session: Session }) {
  const location = useLocation();
  const routes = routesFor(session);
  let page = null;
  for (const r of routes) {
    const params = match(r.path, location.path);
    if (params) {
      page = r.render(params, location.query);
      break;
    }
  }
  useEffect(() => {
    if (location.path === '/') navigate(homeFor(session));
  }, [location.path, session]);

  return (
    <div className="shell">
      {/* A button, not an anchor: the hash belongs to the router. */}
      <button type="button" className="skip-link" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <aside className="sidebar">
        <div className="brand">Mailsystem</div>
        <Identity session={session} />
        <nav aria-label="Main">
          <ul>
            {routes
              .filter((r) => r.nav)
              .map((r) => {
                const active = location.path === r.path || location.path.startsWith(`${r.path}/`);
                return (
                  <li key={r.path}>
                    <Link to={r.path} aria-current={active ? 'page' : undefined}>
                      {r.nav}
                    </Link>
                  </li>
                );
              })}
          </ul>
        </nav>
        <div className="who">
          <button type="button" className="secondary" onClick={() => setSession(null)}>
            Sign out
          </button>
        </div>
      </aside>
      <main id="main" className="content" tabIndex={-1}>
        <ProviderBanner />
        {page ??
          (location.path === '/' ? null : (
            <>
              <PageHeader title="Not found" />
              <p>
                There is no page at <code>{location.path}</code>. <Link to={homeFor(session)}>Go home</Link>
              </p>
            </>
          ))}
      </main>
    </div>
  );
}

/** Who is signed in: the tenant's name and the key's prefix (from `GET /me`), or the admin. */
function Identity({ session }: { session: Session }) {
  const me = useMe(session);
  if (session.kind === 'admin') {
    return (
      <section className="identity" aria-label="Signed in as">
        <strong>Admin</strong>
        <code>{maskToken(session.token)}</code>
      </section>
    );
  }
  const key = me.data?.api_key;
  return (
    <section className="identity" aria-label="Signed in as">
      <strong data-testid="tenant-name">{me.data?.tenant.name ?? (me.isPending ? '…' : 'Tenant')}</strong>
      <span>
        Key <code data-testid="key-prefix">{key ? `${key.prefix}…` : maskToken(session.token)}</code>
        {key?.name && <span className="identity-key-name"> {key.name}</span>}
      </span>
      {me.error && <span className="identity-error">{me.error.message}</span>}
    </section>
  );
}
