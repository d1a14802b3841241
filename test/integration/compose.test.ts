import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ensureServerBuilt } from '../support/build.js';
import { ADMIN_TOKEN, TEST_REDIS_URL } from '../support/env.js';
import { createTestDatabase, deleteRedisPrefix, eventually, testEnv } from '../support/harness.js';
import { type SmtpSink, startSmtpSink } from '../support/smtp.js';

const ROOT = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  env_file?: string | string[];
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number };
  healthcheck?: { test?: string[]; disable?: boolean };
  profiles?: string[];
  volumes?: string[];
  restart?: string;
  ports?: string[];
}

const compose = async () =>
  parse(await readFile(join(ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as {
    services: Record<string, Service>;
    volumes: Record<string, unknown>;
  };

describe('compose.yaml', () => {
  // docker-compose is a Python program: three runs of it take a while on a busy machine.
  it('is valid for docker-compose, with every profile', { timeout: 180_000 }, async () => {
    // Validated where it would run: a folder holding the file, the Dockerfile and a .env made from
    // .env.example, as the README says. Debian's docker-compose (`.ci/run` installs it) checks it
    // against the Compose specification's schema.
    const dir = await mkdtemp(join(tmpdir(), 'mailsystem-compose-'));
    try {
      await copyFile(join(ROOT, 'compose.yaml'), join(dir, 'compose.yaml'));
      await copyFile(join(ROOT, 'Dockerfile'), join(dir, 'Dockerfile'));
      await copyFile(join(ROOT, '.env.example'), join(dir, '.env'));
      const env = { PATH: process.env.PATH ?? '', ADMIN_API_TOKEN: ADMIN_TOKEN };
      const all = await run('docker-compose', ['--profile', 'capture', 'config', '--services'], {
        cwd: dir,
        env,
      });
      expect(all.stdout.trim().split('\n').sort()).toEqual(
        ['api', 'capture', 'migrate', 'postgres', 'proxy', 'redis', 'worker'].sort(),
      );
      await run('docker-compose', ['config', '--quiet'], { cwd: dir, env });
      // Without an admin token the file refuses to start, naming the variable.
      const refused = await run('docker-compose', ['config', '--quiet'], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '' },
      }).catch((e: { stderr: string }) => e);
      expect((refused as { stderr: string }).stderr).toContain('set ADMIN_API_TOKEN in .env');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('runs PostgreSQL 16 and Redis 7 with volumes and health checks, one migrate, 2 APIs and 3 workers', async () => {
    const { services, volumes } = await compose();
    expect(services.postgres?.image).toMatch(/^postgres:16/);
    expect(services.redis?.image).toMatch(/^redis:7/);
    expect(services.postgres?.volumes).toEqual(['postgres-data:/var/lib/postgresql/data']);
    expect(services.redis?.volumes).toEqual(['redis-data:/data']);
    expect(Object.keys(volumes)).toEqual(expect.arrayContaining(['postgres-data', 'redis-data']));
    for (const s of ['postgres', 'redis', 'worker'])
      expect(services[s]?.healthcheck?.test?.length).toBeGreaterThan(0);
    expect(services.migrate).toMatchObject({
      restart: 'no',
      depends_on: { postgres: { condition: 'service_healthy' } },
    });
    for (const role of ['api', 'worker']) {
      expect(services[role]?.depends_on).toEqual({
        migrate: { condition: 'service_completed_successfully' },
        redis: { condition: 'service_healthy' },
      });
      expect(services[role]?.env_file).toBe('.env');
    }
    expect(services.api?.deploy?.replicas).toBe(2);
    expect(services.worker?.deploy?.replicas).toBe(3);
    expect(services.capture?.profiles).toEqual(['capture']);
    expect(services.proxy?.ports).toEqual([expect.stringMatching(/^\$\{MAILSYSTEM_PORT:-8000\}:8000$/)]);
  });
});

describe('the compose topology as plain processes: migrate, 2 APIs, 3 workers', () => {
  let sink: SmtpSink;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const prefix = `mstest-compose-${process.pid}`;
  const children: ChildProcess[] = [];
  let output = '';
  let apis: string[] = [];
  let workerPorts: number[] = [];
  let services: Record<string, Service>;

  const freePort = async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    return port;
  };
  /**
   * The environment compose gives a service, with its addresses replaced by this machine's: the
   * same variables, so a variable the file sets and this test forgets fails here.
   */
  const envFor = (service: Service, local: Record<string, string>) => {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
    for (const name of Object.keys(service.environment ?? {})) {
      const value = local[name];
      if (value === undefined) throw new Error(`compose sets ${name}; the test gives no local value for it`);
      env[name] = value;
    }
    return {
      ...testEnv({ WORKER_CONCURRENCY: '2', RECOVERY_GRACE_SECONDS: '60', LOG_LEVEL: 'warn' }),
      QUEUE_PREFIX: prefix,
      ...env,
    };
  };
  const spawnCommand = (command: string[], env: Record<string, string>) => {
    const [bin, ...args] = command;
    expect(bin).toBe('node');
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d) => {
      output += d;
    });
    child.stderr?.on('data', (d) => {
      output += d;
    });
    children.push(child);
    return child;
  };

  beforeAll(async () => {
    await ensureServerBuilt();
    services = (await compose()).services;
    sink = await startSmtpSink({ latencyMs: 50 });
    db = await createTestDatabase();
    const local = (extra: Record<string, string>) => ({
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      HOST: '127.0.0.1',
      ADMIN_API_TOKEN: ADMIN_TOKEN,
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(sink.port),
      // Behind compose's proxy the API trusts one hop; here clients reach it directly.
      TRUST_PROXY: '1',
      ...extra,
    });

    const migrate = spawnCommand(
      services.migrate?.command ?? [],
      envFor(services.migrate ?? {}, local({ PORT: '0' })),
    );
    expect(await new Promise((resolve) => migrate.on('exit', resolve)), output).toBe(0);

    const apiPorts = [await freePort(), await freePort()];
    workerPorts = [await freePort(), await freePort(), await freePort()];
    for (const port of apiPorts) {
      spawnCommand(services.api?.command ?? [], envFor(services.api ?? {}, local({ PORT: String(port) })));
    }
    for (const port of workerPorts) {
      spawnCommand(
        services.worker?.command ?? [],
        envFor(services.worker ?? {}, local({ PORT: '0', METRICS_PORT: String(port) })),
      );
    }
    apis = apiPorts.map((p) => `http://127.0.0.1:${p}`);
  }, 300_000);

  afterAll(async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
          }),
      ),
    );
    await sink?.stop();
    await deleteRedisPrefix(TEST_REDIS_URL, prefix);
    await db?.drop();
  });

  it('passes the health checks compose runs, and delivers each email once through any API', async () => {
    // The image's HEALTHCHECK for the APIs, the worker's own from compose.yaml, each as a command.
    const healthy = async (args: string[], env: Record<string, string>) =>
      run(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env } }).then(
        () => true,
        () => false,
      );
    for (const api of apis) {
      await eventually(() => healthy(['dist/main/healthcheck.js'], { PORT: new URL(api).port }), 60_000, 250);
    }
    const workerCheck = services.worker?.healthcheck?.test ?? [];
    expect(workerCheck.slice(0, 3)).toEqual(['CMD', 'node', 'dist/main/healthcheck.js']);
    for (const port of workerPorts)
      await eventually(() => healthy(['dist/main/healthcheck.js', String(port)], {}), 60_000, 250);

    const call = async (base: string, method: string, path: string, token: string, body?: unknown) => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const [a, b] = apis as [string, string];
    const tenant = await call(a, 'POST', '/admin/tenants', ADMIN_TOKEN, { name: 'Compose' });
    const key = (
      await call(b, 'POST', `/admin/tenants/${tenant.body.id}/api-keys`, ADMIN_TOKEN, { name: 'k' })
    ).body.key;
    const template = await call(a, 'POST', '/templates', key, {
      name: 'welcome',
      subject_template: 'Hi {{ n }}',
      html_template: '<p>{{ n }}</p>',
    });
    expect(template.status).toBe(201);

    const count = 40;
    const sent = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        call(i % 2 ? a : b, 'POST', '/send', key, {
          recipient: { email: `r${i}@example.com` },
          template_id: template.body.id,
          variables: { n: String(i) },
        }),
      ),
    );
    expect(sent.every((s) => s.status === 202)).toBe(true);

    const messages = await sink.waitFor(count, 60_000);
    const recipients = messages.map((m) => m.envelope.to[0]);
    expect(new Set(recipients).size).toBe(count);
    for (const s of sent) {
      const email = await eventually(async () => {
        const e = await call(b, 'GET', `/emails/${s.body.email_id}`, key);
        return e.body.status === 'sent' ? e.body : null;
      });
      expect(email.attempts).toBe(1);
    }
    // Nothing more arrives: each email reached the relay once.
    await new Promise((r) => setTimeout(r, 1000));
    expect(sink.server.messages()).toHaveLength(count);

    // Every worker took part: each one's /metrics counts what it sent.
    const perWorker = await Promise.all(
      workerPorts.map(async (port) => {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        const m = /^mailsystem_delivery_outcomes_total\{[^}]*status="sent"[^}]*\} (\d+)/m.exec(text);
        return Number(m?.[1] ?? 0);
      }),
    );
    expect(perWorker.reduce((x, y) => x + y, 0)).toBe(count);
    expect(perWorker.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
  }, 240_000);
});
