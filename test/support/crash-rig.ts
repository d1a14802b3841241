import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { CaptureSmtpServerOptions } from '../../src/dev/capture-server.js';
import { ADMIN_TOKEN, TEST_REDIS_URL } from './env.js';
import { createTestDatabase, deleteRedisPrefix, testEnv } from './harness.js';
import { type SmtpSink, startSmtpSink } from './smtp.js';
import { type SystemProcess, startSystemProcess } from './system-process.js';

export interface CrashRig {
  sink: SmtpSink;
  /** A pool of the test's own on the system's database, to read what was stored. */
  pool: pg.Pool;
  /** The process running now, or null. */
  readonly running: SystemProcess | null;
  /** Starts the whole system (`npm start`'s entry point) over the rig's database, Redis prefix and sink. */
  start(): Promise<SystemProcess>;
  /** Sends `signal` to the running process and waits for it to exit; answers its exit code. */
  stop(signal: NodeJS.Signals): Promise<number | null>;
  /** Kills what runs and removes the database, the Redis keys and the sink. */
  close(): Promise<void>;
}

/**
 * What a test needs to kill the whole system and start it again: a database and a Redis key
 * prefix of its own, an SMTP sink, and the environment every start shares (`env` on top).
 */
export async function startCrashRig(opts: {
  name: string;
  env: Record<string, string>;
  sink?: Omit<CaptureSmtpServerOptions, 'port'>;
}): Promise<CrashRig> {
  const prefix = `mstest-${opts.name}-${randomBytes(3).toString('hex')}`;
  const database = await createTestDatabase();
  const sink = await startSmtpSink(opts.sink);
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  // The system is killed under its own connections, never under this pool's; a stray error is not a failure.
  pool.on('error', () => {});
  const env = testEnv({
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    SMTP_PORT: String(sink.port),
    ADMIN_API_TOKEN: ADMIN_TOKEN,
    LOG_LEVEL: 'warn',
    ...opts.env,
  });
  let running: SystemProcess | null = null;
  const stop = async (signal: NodeJS.Signals) => {
    const sys = running;
    running = null;
    if (!sys) return null;
    await sys.kill(signal);
    return sys.child.exitCode;
  };
  return {
    sink,
    pool,
    get running() {
      return running;
    },
    async start() {
      running = await startSystemProcess(env);
      return running;
    },
    stop,
    async close() {
      await stop('SIGKILL');
      await pool.end();
      await sink.stop();
      await deleteRedisPrefix(TEST_REDIS_URL, prefix);
      await database.drop();
    },
  };
}
