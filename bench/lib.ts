/**
 * What the benches share: a database of their own, servers in child processes (so the load
 * generator never shares their event loop), process memory and CPU from /proc, and summaries of
 * repeated measurements (median and range).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { loadConfig } from '../src/config/config.js';
import { createSystem } from '../src/main/system.js';
import { dbUrl, TEST_REDIS_URL } from '../test/support/env.js';
import { deleteRedisPrefix } from '../test/support/harness.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A migrated database and a Redis key prefix of the bench's own, removed by `drop()`. */
export async function benchDatabase(tag: string) {
  const name = `mailsystem_bench_${tag}_${randomBytes(4).toString('hex')}`;
  const prefix = `msbench-${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: dbUrl('postgres') });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  const url = dbUrl(name);
  const migrator = await createSystem({
    config: loadConfig({
      DATABASE_URL: url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'silent',
    }),
    roles: { api: false, worker: false },
    migrate: true,
  });
  await migrator.stop();
  return {
    url,
    prefix,
    async drop() {
      await deleteRedisPrefix(TEST_REDIS_URL, prefix);
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    },
  };
}

/**
 * Starts `script --serve args…` in a child process (through tsx) and resolves with the first line
 * it prints that starts with `prefix` (a URL, or "ready").
 */
export function startChild(
  script: string,
  args: string[],
  env: Record<string, string> = {},
  prefix = 'http',
): Promise<{ line: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, '--serve', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith(prefix));
      if (line) resolve({ line: line.trim(), child });
    });
    child.on('exit', (code) => reject(new Error(`${args[0]} child exited with ${code}`)));
  });
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * How the benches run Mailsystem's roles: `compiled` (the default) runs `node dist/main/<role>.js`
 * as production does (`npm run build:server` first; bench/run.ts builds it), `tsx` runs the
 * TypeScript sources as `npm start` does in development.
 */
export const RUNTIME = process.env.BENCH_RUNTIME === 'tsx' ? 'tsx' : 'compiled';

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * Starts one of Mailsystem's own entry points (`api` or `worker`) with `env`, and resolves once it
 * is ready: the API when `/health/live` answers (it logs at `warn`, as a busy production API would
 * not log two lines per request either), the worker when it logs that it started. `nodeArgs` go
 * to node before the script (e.g. `--cpu-prof`, which NODE_OPTIONS does not allow).
 */
export async function startRole(
  role: 'api' | 'worker',
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Promise<{ url: string; child: ChildProcess }> {
  const compiled = join(root, 'dist/main', `${role}.js`);
  if (RUNTIME === 'compiled' && !existsSync(compiled)) {
    throw new Error(`${compiled} is missing: run \`npm run build:server\` (or set BENCH_RUNTIME=tsx)`);
  }
  // BENCH_CPU_PROF=<dir>: each role writes a V8 CPU profile there when it exits (open it in
  // Chrome DevTools or speedscope), unless the caller already asked for one.
  const prof =
    process.env.BENCH_CPU_PROF && !nodeArgs.includes('--cpu-prof')
      ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
      : [];
  const args = [
    ...prof,
    ...nodeArgs,
    ...(RUNTIME === 'compiled' ? [compiled] : ['--import', 'tsx', join(root, 'src/main', `${role}.ts`)]),
  ];
  const port = role === 'api' ? await freePort() : 0;
  const url = role === 'api' ? `http://127.0.0.1:${port}` : '';
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      LOG_FORMAT: 'json',
      LOG_LEVEL: role === 'api' ? 'warn' : 'info',
      HOST: '127.0.0.1',
      PORT: String(port),
      ...env,
    },
  });
  let out = '';
  let exited: Error | null = null;
  child.stdout?.on('data', (chunk: Buffer) => {
    if (out.length < 100_000) out += chunk.toString();
  });
  child.on('exit', (code) => {
    exited = new Error(`${role} exited with ${code}: ${out.slice(-2000)}`);
  });
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (exited) throw exited;
    if (Date.now() > deadline) throw new Error(`${role} was not ready in 120 s: ${out.slice(-2000)}`);
    if (
      role === 'worker'
        ? out.includes('worker started')
        : await fetch(`${url}/health/live`).then(
            (r) => r.ok,
            () => false,
          )
    ) {
      return { url, child };
    }
    await sleep(100);
  }
}

/** Stops a child and waits for it to be gone. */
export async function stopChild(child: ChildProcess) {
  if (child.exitCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([gone, sleep(10_000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/** Resident set size of a process in MB (Linux /proc). */
export function rssMb(pid: number | undefined): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'));
    return Number(line?.replace(/\D+/g, '')) / 1024;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
export function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** "median (min–max)" of repeated measurements. */
export function summary(values: number[], digits = 0): string {
  const sorted = [...values].filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return 'n/a';
  const f = (v: number) => v.toLocaleString('en-US', { maximumFractionDigits: digits });
  const median = median_(sorted);
  return sorted.length === 1
    ? f(median)
    : `${f(median)} (${f(sorted[0] as number)}–${f(sorted.at(-1) as number)})`;
}

export function median(values: number[]): number {
  return median_([...values].filter((v) => !Number.isNaN(v)).sort((a, b) => a - b));
}

function median_(sorted: number[]): number {
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The 1.2 KB template every send bench uses. */
export const BENCH_TEMPLATE = {
  name: 'bench',
  subject_template: 'Your {{ product }} order {{ order_id }} has shipped',
  html_template: `<!doctype html><html><body style="font-family:sans-serif">
<h1>Hello {{ name }},</h1>
<p>Good news: your order <strong>{{ order_id }}</strong> for {{ product }} left our warehouse today and is on
its way. You can follow it at any time with the tracking number below; carriers usually update it within a
few hours of pickup.</p>
<table cellpadding="6" style="border-collapse:collapse">
<tr><td>Tracking number</td><td>{{ tracking }}</td></tr>
<tr><td>Carrier</td><td>{{ carrier | default: "Standard post" }}</td></tr>
<tr><td>Expected</td><td>{{ eta | default: "3–5 working days" }}</td></tr>
</table>
{% if items %}<ul>{% for item in items %}<li>{{ item.qty }} × {{ item.name }}</li>{% endfor %}</ul>{% endif %}
<p>If anything is wrong with your order, reply to this email and a person will answer within one working
day. Thank you for shopping with us, and we hope {{ product }} serves you well.</p>
<p style="color:#888;font-size:12px">You receive this email because you placed an order. Questions about your
privacy? Read our policy on the website. This message was sent to {{ email }}.</p>
</body></html>`,
};

export const benchVariables = (i: number) => ({
  name: `Reader ${i}`,
  order_id: `A-${100000 + i}`,
  product: 'the Field Notebook',
  tracking: `TRK${i}XYZ`,
  carrier: 'Parcel Post',
  eta: 'Friday',
  email: `r${i}@example.com`,
  items: [
    { qty: 1, name: 'Field Notebook' },
    { qty: 2, name: 'Pencil' },
  ],
});

/** The admin token of the roles a bench starts with `roleEnv`. */
export const BENCH_ADMIN = 'bench-admin-token-0123456789abcdef';

/**
 * The environment of Mailsystem's roles in a bench: production mode over the bench's database and
 * Redis prefix, delivering to the SMTP server on `smtpPort`, with the API's rate limit out of the
 * way; `extra` on top.
 */
export function roleEnv(
  db: { url: string; prefix: string },
  smtpPort: number | null,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    NODE_ENV: 'production',
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: db.prefix,
    ADMIN_API_TOKEN: BENCH_ADMIN,
    RATE_LIMIT_PER_SECOND: '1000000',
    RATE_LIMIT_BURST: '1000000',
    ...(smtpPort === null ? {} : { SMTP_HOST: '127.0.0.1', SMTP_PORT: String(smtpPort) }),
    ...extra,
  };
}

/**
 * A tenant with an API key and one template (BENCH_TEMPLATE unless given), made through the API
 * of a role started with `roleEnv`, as an operator and a client would.
 */
export async function benchTenant(
  apiUrl: string,
  template: { name: string; subject_template: string; html_template: string } = BENCH_TEMPLATE,
): Promise<{ tenantId: string; key: string; templateId: string }> {
  const tenant = await json(apiUrl, '/admin/tenants', { name: 'Bench' }, BENCH_ADMIN);
  const { key } = await json(apiUrl, `/admin/tenants/${tenant.id}/api-keys`, { name: 'bench' }, BENCH_ADMIN);
  const created = await json(apiUrl, '/templates', template, key as string);
  return { tenantId: tenant.id as string, key: key as string, templateId: created.id as string };
}

/** Calls the API as a client would (JSON in and out, a Bearer token); throws on any non-2xx. */
export async function json(url: string, path: string, body: unknown, auth: string, method = 'POST') {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${auth}` },
    body: JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, string>;
}

export { TEST_REDIS_URL };
