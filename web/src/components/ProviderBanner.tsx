import { useQuery } from '@tanstack/react-query';
import { client, type ProviderHealth } from '../lib/api';
import { formatNumber, formatTime } from '../lib/format';

/**
 * A banner while a provider's circuit breaker is open: mail is still accepted and waits, without
 * spending attempts, until the provider answers again (docs/providers.md). Read from
 * `/health/ready`, which lists each provider's breaker.
 */
export function ProviderBanner() {
  const ready = useQuery({
    queryKey: ['health', 'ready'],
    // Readiness answers 503 while a database is away; the breakers are in its details then too.
    queryFn: async () => (await client.GET('/health/ready')).data?.providers ?? {},
    refetchInterval: 10_000,
    retry: false,
  });
  const down = Object.entries(ready.data ?? {}).filter(([, p]) => p.state !== 'closed');
  if (down.length === 0) return null;
  return (
    <div className="notice provider-banner" role="status" data-testid="provider-banner">
      {down.map(([name, p]) => (
        <p key={name}>{describe(name, p)}</p>
      ))}
    </div>
  );
}

function describe(name: string, p: ProviderHealth): string {
  const since = p.open_since ? Date.parse(p.open_since) : null;
  const minutes = since === null ? null : Math.max(0, Math.round((Date.now() - since) / 60_000));
  const how = minutes === null ? '' : minutes < 1 ? ' for less than a minute' : ` for ${minutes} min`;
  const waiting = p.waiting !== undefined ? `${formatNumber(p.waiting)} emails wait` : 'emails wait';
  const next = p.next_probe_at ? `; next try ${formatTime(p.next_probe_at)}` : '';
  return `Provider "${name}" is unavailable${how}: ${waiting} and go out when it answers again, without spending their retries${next}.`;
}
