import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { consoleIsBuilt, defaultConsoleDir } from '../api/plugins/console.js';
import { redact } from '../config/env.js';
import { type CapturedMessage, CaptureSmtpServer } from '../dev/capture-server.js';
import { createLogger, type Logger } from '../lib/logger.js';
import { chooseBackends } from './backends.js';
import { demoWanted, seedDemo } from './demo.js';
import { configOrExit, fatal, onShutdown } from './run.js';
import { createSystem } from './system.js';

// Everything in one process: migrations, the API, the workers with the recovery loop, and — when
// no SMTP relay is configured — a local SMTP server that captures every message sent.
let config = configOrExit();
const logger = createLogger(config.logLevel, { format: config.logFormat });
try {
  const backends = await chooseBackends(config, logger);

  let capture: CaptureSmtpServer | null = null;
  if (config.smtp.host === null) {
    capture = new CaptureSmtpServer({ port: config.smtp.port, dir: config.capture.dir, logger });
    await capture.start();
  }
  // The demo tenant, its printed key and a generated admin token are the zero-setup experience
  // only: a production start creates no tenant and prints no secret.
  const demoMode = await demoWanted(config, backends.mode === 'embedded');
  const generatedAdminToken =
    demoMode && config.adminApiToken === null ? randomBytes(24).toString('base64url') : null;
  if (generatedAdminToken) config = { ...config, adminApiToken: generatedAdminToken };

  const consoleDir = await ensureConsoleBuilt(logger);
  const system = await createSystem({
    config,
    logger,
    roles: { api: true, worker: true },
    migrate: true,
    consoleDir,
    ...(backends.mode === 'embedded'
      ? { db: backends.db, dispatcher: backends.dispatcher, rateLimiter: backends.rateLimiter }
      : {}),
  });
  // Without a relay, every message the local capture server takes is also kept in its tenant's
  // inbox (GET /inbox, the console's Inbox page), like test-mode mail.
  capture?.on('message', (m: CapturedMessage) => {
    system.services.inbox
      .captureRaw(Buffer.from(m.raw, 'utf8'), m.envelope)
      .catch((err: unknown) => logger.warn({ err }, 'a captured message could not be kept in the inbox'));
  });
  onShutdown(logger, async () => {
    await system.stop();
    if (backends.mode === 'embedded') await backends.db.close();
    await capture?.stop();
  });
  const address = await system.listen();
  const demo = demoMode ? await seedDemo(system) : null;
  const base = config.http.publicBaseUrl;
  const lines = [
    '',
    `  Mailsystem is running at ${base} (listening on ${address})`,
    `  Console:        ${base}/`,
    `  API docs:       ${base}/docs`,
    backends.mode === 'embedded'
      ? `  Storage:        embedded PostgreSQL in ${backends.dataDir}, in-process queue (${backends.reason})`
      : `  Storage:        ${redact(config.databaseUrl)}, ${redact(config.redisUrl)}`,
    ...(demo
      ? [
          `  Demo tenant:    ${demo.tenantId}`,
          `  Demo API key:   ${demo.apiKey}`,
          `  Template:       ${demo.templateId} (welcome)`,
        ]
      : ['  Tenants:        none created at start (no demo); create them with the admin API']),
    generatedAdminToken
      ? `  Admin token:    ${generatedAdminToken} (generated for this run; set ADMIN_API_TOKEN to keep one)`
      : config.adminApiToken
        ? '  Admin token:    from ADMIN_API_TOKEN'
        : '  Admin API:      disabled (403) until ADMIN_API_TOKEN is set',
    capture
      ? `  Mail capture:   SMTP on 127.0.0.1:${config.smtp.port}${config.capture.dir ? `, saved in ${config.capture.dir}` : ''}`
      : `  SMTP relay:     ${config.smtp.host}:${config.smtp.port}`,
    '',
    ...(demo
      ? [
          '  Try it:',
          `    curl -X POST ${base}/send -H "Authorization: Bearer ${demo.apiKey}" -H "Content-Type: application/json" \\`,
          `      -d '{"recipient":{"email":"alice@example.com","name":"Alice"},"template_id":"${demo.templateId}","variables":{"name":"Alice"}}'`,
          '',
        ]
      : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} catch (err) {
  fatal(err, logger);
}

/**
 * The console is static files built from web/; a fresh checkout has none yet, so the one command
 * builds them (a few seconds) rather than asking for a second step. Without Vite (a production
 * install without devDependencies) the API runs alone.
 */
async function ensureConsoleBuilt(log: Logger): Promise<string | null> {
  const dir = defaultConsoleDir();
  if (consoleIsBuilt(dir)) return dir;
  let viteBin: string;
  try {
    viteBin = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
  } catch {
    log.warn(
      'the console is not built and Vite is not installed: serving the API only (run npm run build:web)',
    );
    return null;
  }
  const webDir = dirname(dir);
  log.info('building the console into web/dist');
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, [viteBin, 'build', '--config', join(webDir, 'vite.config.ts')], {
      cwd: dirname(webDir),
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('error', () => resolve(null));
    child.on('exit', (c) => resolve(c));
  });
  if (code !== 0 || !consoleIsBuilt(dir)) {
    log.warn({ exitCode: code }, 'the console build failed: serving the API only (see npm run build:web)');
    return null;
  }
  return dir;
}
