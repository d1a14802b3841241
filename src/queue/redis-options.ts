/** Plain Redis connection settings, accepted by both ioredis and BullMQ. */
export interface RedisConnectionSettings {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db: number;
  tls?: Record<string, never>;
}

/** Settings from a redis:// or rediss:// URL (`redis://[user:pass@]host:port/db`). */
export function redisOptionsFromUrl(url: string): RedisConnectionSettings {
  const u = new URL(url);
  const db = u.pathname.length > 1 ? Number.parseInt(u.pathname.slice(1), 10) : 0;
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number.parseInt(u.port, 10) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    db: Number.isFinite(db) ? db : 0,
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}
