// `npm run image:check`: builds the container image's contents the way the Dockerfile does, outside
// a container (this machine cannot run one), then starts them as the image would and checks they
// work. What it does, read from the Dockerfile itself so the two cannot drift apart:
//   build stage    a copy of the build context (the files git tracks or would track), then each
//                  COPY and RUN in order (npm ci, npm run build, npm prune --omit=dev);
//   runtime stage  only what its COPY --from=build lines take, with its ENV; its RUN lines prepare
//                  the container's own file system (users, folders) and are left out here;
//   then           no devDependency is left; migrate, api and worker start from the runtime copy
//                  against PostgreSQL and Redis on loopback; the HEALTHCHECK command passes; the
//                  console is served; the compiled `mailsystem` command creates a tenant, a key and
//                  a template and sends an email that reaches a capture SMTP server (dist/main/capture.js);
//                  the default CMD (all in one) starts and answers.
// TEST_PG_URL and TEST_REDIS_URL point it at other servers (as for the tests).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(ROOT, 'package.json'));
const pg = require('pg');
const { Redis } = require('ioredis');

const PG_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/11';
const ADMIN_TOKEN = `image-check-${randomBytes(12).toString('hex')}`;
const started = Date.now();
const log = (msg) =>
  process.stdout.write(`[image-check ${((Date.now() - started) / 1000).toFixed(0)}s] ${msg}\n`);
const fail = (msg) => {
  throw new Error(msg);
};

/** The Dockerfile as stages of instructions (line continuations joined, comments dropped). */
function readDockerfile() {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const stages = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [op, ...rest] = line.split(/\s+/);
    const arg = rest.join(' ');
    if (op === 'FROM')
      stages.push({ name: /\bAS\s+(\S+)/i.exec(arg)?.[1] ?? String(stages.length), steps: [] });
    else stages.at(-1)?.steps.push({ op, arg });
  }
  return stages;
}

const envOf = (arg) =>
  Object.fromEntries(
    [...arg.matchAll(/(\w+)=("[^"]*"|\S+)/g)].map((m) => [m[1], m[2].replace(/^"|"$/g, '')]),
  );

function sh(command, cwd, env) {
  log(`$ ${command}`);
  const r = spawnSync('sh', ['-c', command], { cwd, env: { ...process.env, ...env }, stdio: 'inherit' });
  if (r.status !== 0) fail(`"${command}" exited with ${r.status}`);
}

/** The build context: what git tracks or would track (.dockerignore leaves out the same and .git). */
function contextFiles() {
  return execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: ROOT })
    .toString()
    .split('\0')
    .filter((f) => f && existsSync(join(ROOT, f)));
}

function copyInto(files, from, to) {
  for (const f of files) {
    mkdirSync(dirname(join(to, f)), { recursive: true });
    cpSync(join(from, f), join(to, f));
  }
}

function runBuildStage(stage, dir) {
  const context = contextFiles();
  let env = {};
  for (const { op, arg } of stage.steps) {
    if (op === 'WORKDIR') continue;
    if (op === 'ENV') env = { ...env, ...envOf(arg) };
    else if (op === 'COPY') {
      const parts = arg.split(/\s+/);
      const sources = parts.slice(0, -1);
      copyInto(sources.includes('.') ? context : context.filter((f) => sources.includes(f)), ROOT, dir);
    } else if (op === 'RUN') sh(arg, dir, env);
    else log(`(build stage: ${op} ${arg} has nothing to do outside a container)`);
  }
}

function runtimeStage(stage, buildDir, dir) {
  let env = {};
  let cmd = null;
  let healthcheck = null;
  for (const { op, arg } of stage.steps) {
    if (op === 'ENV') env = { ...env, ...envOf(arg) };
    else if (op === 'COPY') {
      const m =
        /^--from=build\s+\/app\/(\S+)\s+\.\/(\S+)$/.exec(arg) ?? fail(`runtime COPY not understood: ${arg}`);
      cpSync(join(buildDir, m[1]), join(dir, m[2]), { recursive: true });
    } else if (op === 'CMD') cmd = JSON.parse(arg);
    else if (op === 'HEALTHCHECK') healthcheck = JSON.parse(arg.slice(arg.indexOf('CMD') + 3).trim());
    else log(`(runtime stage: ${op} ${arg} is left to the container)`);
  }
  return { env, cmd: cmd ?? fail('no CMD'), healthcheck: healthcheck ?? fail('no HEALTHCHECK') };
}

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const children = [];
function start(name, argv, cwd, env) {
  const child = spawn(argv[0] === 'node' ? process.execPath : argv[0], argv.slice(1), {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.output = '';
  const keep = (d) => {
    child.output += d;
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.label = name;
  children.push(child);
  return child;
}

function exec(argv, cwd, env) {
  const r = spawnSync(argv[0] === 'node' ? process.execPath : argv[0], argv.slice(1), {
    cwd,
    env,
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function until(what, check, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    const dead = children.find((c) => c.exitCode !== null && c.exitCode !== 0);
    if (dead) fail(`${dead.label} exited with ${dead.exitCode}:\n${dead.output}`);
    if (Date.now() > deadline) fail(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function main() {
  const stages = readDockerfile();
  const build = stages.find((s) => s.name === 'build') ?? fail('no build stage');
  const runtime = stages.at(-1);
  const work = mkdtempSync(join(tmpdir(), 'mailsystem-image-'));
  const buildDir = join(work, 'build');
  const appDir = join(work, 'app');
  mkdirSync(buildDir);
  mkdirSync(appDir);
  const dbName = `mailsystem_imagecheck_${randomBytes(4).toString('hex')}`;
  const prefix = `mailsystem-imagecheck-${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: `${PG_URL}/postgres` });
  await admin.connect();
  try {
    log(`build stage in ${buildDir}`);
    runBuildStage(build, buildDir);
    log(`runtime stage in ${appDir}`);
    const image = runtimeStage(runtime, buildDir, appDir);

    // What the lockfile marks dev-only (devDependencies and what only they need) must be gone.
    const lock = JSON.parse(readFileSync(join(buildDir, 'package-lock.json'), 'utf8'));
    const devOnly = Object.entries(lock.packages)
      .filter(([path, p]) => path.startsWith('node_modules/') && p.dev === true)
      .map(([path]) => path);
    const leftover = devOnly.filter((path) => existsSync(join(appDir, path)));
    if (leftover.length > 0) fail(`dev-only packages left in the image: ${leftover.slice(0, 10).join(', ')}`);
    if (!existsSync(join(appDir, 'node_modules', 'fastify')))
      fail('the image has no production dependencies');
    log(`no dev-only package left (${devOnly.length} pruned)`);
    if (existsSync(join(appDir, 'src'))) fail('the image holds the TypeScript sources');

    await admin.query(`CREATE DATABASE "${dbName}"`);
    const smtpPort = await freePort();
    const base = {
      PATH: process.env.PATH ?? '',
      ...image.env,
      // Loopback here: inside a container, HOST=0.0.0.0 is what publishes the port.
      HOST: '127.0.0.1',
      DATA_DIR: join(work, 'data'),
      CAPTURE_DIR: join(work, 'data', 'mail'),
      DATABASE_URL: `${PG_URL}/${dbName}`,
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      ADMIN_API_TOKEN: ADMIN_TOKEN,
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(smtpPort),
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      RECOVERY_GRACE_SECONDS: '5',
    };

    const capture = start('capture', ['node', 'dist/main/capture.js'], appDir, base);
    await until('the capture SMTP server', () => capture.output.includes('capture SMTP server listening'));

    const migrate = exec(['node', 'dist/main/migrate.js'], appDir, base);
    if (migrate.code !== 0) fail(`migrate exited with ${migrate.code}:\n${migrate.stdout}${migrate.stderr}`);
    log('migrate: done');

    const apiPort = await freePort();
    const workerPort = await freePort();
    start('api', ['node', 'dist/main/api.js'], appDir, { ...base, PORT: String(apiPort) });
    start('worker', ['node', 'dist/main/worker.js'], appDir, {
      ...base,
      PORT: '0',
      METRICS_PORT: String(workerPort),
    });
    const url = `http://127.0.0.1:${apiPort}`;
    await until(
      'the HEALTHCHECK of the api',
      () => exec(image.healthcheck, appDir, { ...base, PORT: String(apiPort) }).code === 0,
    );
    await until(
      'the health check of the worker',
      () => exec([...image.healthcheck, String(workerPort)], appDir, base).code === 0,
    );
    log('api and worker: healthy');

    const page = await fetch(`${url}/`, { headers: { accept: 'text/html' } });
    const html = await page.text();
    if (page.status !== 200 || !html.includes('<div id="root">'))
      fail(`the console is not served: ${page.status}`);
    log('console: served');

    const cli = (args, key) => {
      const r = exec(['node', 'bin/mailsystem.js', ...args, '--json'], appDir, {
        PATH: base.PATH,
        MAILSYSTEM_URL: url,
        MAILSYSTEM_ADMIN_TOKEN: ADMIN_TOKEN,
        ...(key ? { MAILSYSTEM_API_KEY: key } : {}),
      });
      if (r.code !== 0) fail(`mailsystem ${args.join(' ')} exited with ${r.code}: ${r.stderr}`);
      return JSON.parse(r.stdout);
    };
    const tenant = cli(['tenants', 'create', 'Image check']);
    const { key } = cli(['keys', 'create', tenant.id]);
    const templates = join(work, 'templates', 'welcome');
    mkdirSync(templates, { recursive: true });
    writeFileSync(join(templates, 'subject.liquid'), 'Hello {{ name }}\n');
    writeFileSync(join(templates, 'body.html.liquid'), '<p>Hello {{ name }}</p>\n');
    cli(['templates', 'push', templates], key);
    const email = cli(
      ['send', '--to', 'check@example.com', '--template', 'welcome', '--var', 'name=Image', '--wait'],
      key,
    );
    if (email.status !== 'sent') fail(`the email ended ${email.status}: ${email.last_error}`);
    await until('the message at the capture server', () => capture.output.includes('captured message'));
    log(`mailsystem CLI: tenant, key, template, email ${email.email_id} sent`);

    const allPort = await freePort();
    const all = start('default CMD', image.cmd, appDir, {
      ...base,
      PORT: String(allPort),
      SMTP_HOST: '',
      SMTP_PORT: String(await freePort()),
    });
    await until('the default CMD (all in one)', () => all.output.includes('Mailsystem is running'));
    if (exec(image.healthcheck, appDir, { ...base, PORT: String(allPort) }).code !== 0)
      fail('the default CMD is not healthy');
    log(`default CMD (${image.cmd.join(' ')}): running and healthy`);
    log('passed');
  } finally {
    await Promise.all(
      children.map(
        (c) =>
          new Promise((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', resolve);
            c.kill('SIGTERM');
          }),
      ),
    );
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => {});
    await admin.end();
    const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect().catch(() => {});
    let cursor = '0';
    do {
      const [next, keys] = await redis
        .scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
        .catch(() => ['0', []]);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
    redis.disconnect();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`[image-check] FAILED: ${e.message}\n`);
  process.exit(1);
});
