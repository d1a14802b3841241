import { execFile } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './redis-server.js';

const run = promisify(execFile);
const BIN = process.env.TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** Runs a PostgreSQL binary as the `postgres` user when the tests run as root (initdb refuses root). */
async function asPostgres(cmd: string, args: string[]) {
  const root = process.getuid?.() === 0;
  const [file, argv] = root
    ? ['runuser', ['-u', 'postgres', '--', join(BIN, cmd), ...args]]
    : [join(BIN, cmd), args];
  return run(file, argv, { timeout: 60_000 });
}

/**
 * A PostgreSQL cluster of the test's own on a free port, for tests that stop and start the
 * database (the shared one on 5432 is never touched that way).
 */
export class TestPgCluster {
  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async start(): Promise<TestPgCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'mailsystem-pg-'));
    chmodSync(dir, 0o700);
    if (process.getuid?.() === 0) {
      const { uid, gid } = await userIds('postgres');
      chownSync(dir, uid, gid);
    }
    await asPostgres('initdb', ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync']);
    const c = new TestPgCluster(await freePort(), dir);
    await c.resume();
    return c;
  }

  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** Starts the stopped server again on the same port and data. */
  async resume(): Promise<void> {
    await asPostgres('pg_ctl', [
      '-D',
      join(this.dir, 'data'),
      '-l',
      join(this.dir, 'log'),
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      '-w',
      'start',
    ]);
  }

  /** `pg_ctl stop -m fast`: what a restart, an upgrade or a failover does to clients. */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await asPostgres('pg_ctl', ['-D', join(this.dir, 'data'), '-m', mode, '-w', 'stop']);
  }

  async destroy(): Promise<void> {
    await this.stop('immediate').catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function userIds(name: string): Promise<{ uid: number; gid: number }> {
  const [{ stdout: u }, { stdout: g }] = await Promise.all([
    run('id', ['-u', name]),
    run('id', ['-g', name]),
  ]);
  return { uid: Number(u.trim()), gid: Number(g.trim()) };
}
