import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import type { Config } from '../config/config.js';
import type { Database } from '../db/database.js';
import { createPgliteDatabase } from '../db/pglite.database.js';
import type { Logger } from '../lib/logger.js';
import { withTimeout } from '../lib/time.js';
import type { Dispatcher } from '../queue/dispatcher.js';
import { createInProcessDispatcher } from '../queue/in-process.dispatcher.js';
import { redisOptionsFromUrl } from '../queue/redis-options.js';
import { createLocalRateLimiter, type RateLimiter } from '../ratelimit/rate-limiter.js';
import { ensureDatabase, waitForDatabase } from './ensure-database.js';

export type Backends =
  | { mode: 'servers'; reason: string }
  | {
      mode: 'embedded';
      reason: string;
      dataDir: string;
      db: Database;
      dispatcher: Dispatcher;
      rateLimiter: RateLimiter;
    };

/**
 * What `npm start` runs on. With DATABASE_URL or REDIS_URL set, those servers (and nothing else).
 * With neither, the local PostgreSQL and Redis when both answer, else — so that a new user needs
 * nothing but Node.js — an embedded PostgreSQL (PGlite, data in DATA_DIR) and an in-process queue.
 */
export async function chooseBackends(config: Config, logger: Logger): Promise<Backends> {
  const { mode, backendsConfigured, dataDir } = config.embedded;
  if (mode === 'off' || (mode === 'auto' && backendsConfigured)) {
    if (await waitForDatabase(config.databaseUrl, logger)) {
      logger.info('created the database named in DATABASE_URL');
    }
    return { mode: 'servers', reason: backendsConfigured ? 'DATABASE_URL/REDIS_URL' : 'EMBEDDED=off' };
  }
  if (mode === 'auto') {
    const [pg, redis] = await Promise.allSettled([
      withTimeout(ensureDatabase(config.databaseUrl), 3000, 'PostgreSQL did not answer'),
      redisAnswers(config.redisUrl),
    ]);
    if (pg.status === 'fulfilled' && redis.status === 'fulfilled') {
      return { mode: 'servers', reason: 'local PostgreSQL and Redis answered' };
    }
    const missing = [
      pg.status === 'rejected' ? 'PostgreSQL' : null,
      redis.status === 'rejected' ? 'Redis' : null,
    ]
      .filter(Boolean)
      .join(' and ');
    logger.info(`no local ${missing} answered: running on the embedded database and an in-process queue`);
  }
  const dir = resolve(dataDir, 'pglite');
  return {
    mode: 'embedded',
    reason: mode === 'on' ? 'EMBEDDED=on' : 'no local PostgreSQL or Redis',
    dataDir: dir,
    db: await createPgliteDatabase(dir),
    dispatcher: createInProcessDispatcher({
      onError: (err, where) => logger.warn({ err, where }, 'job failed; it will be retried'),
    }),
    rateLimiter: createLocalRateLimiter(),
  };
}

async function redisAnswers(url: string): Promise<void> {
  const r = new Redis({
    ...redisOptionsFromUrl(url),
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  r.on('error', () => {});
  try {
    await withTimeout(
      r.connect().then(() => r.ping()),
      1500,
      'Redis did not answer',
    );
  } finally {
    r.disconnect();
  }
}
