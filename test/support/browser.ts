import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { consoleIsBuilt, consolePlugin, defaultConsoleDir } from '../../src/api/plugins/console.js';
import { buildOnce, newestMtime } from './build.js';
import { type Harness, type HarnessOptions, startHarness } from './harness.js';

/** Debian's Chromium; `.ci/run` installs it with apt. No browser is ever downloaded. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WEB = join(ROOT, 'web');
const DIST = defaultConsoleDir();
export const ARTIFACTS = join(ROOT, 'test-artifacts');

/** How long a UI assertion waits for the page to catch up (expect.poll waits 1 s by default). */
export const UI_WAIT = { timeout: 10_000, interval: 100 };

/** What the console is built from: web/, and the typed client and status rules it imports from src/. */
const CONSOLE_SOURCES = [WEB, join(ROOT, 'src', 'client'), join(ROOT, 'src', 'domain', 'email-status.ts')];

async function consoleIsFresh(): Promise<boolean> {
  if (!consoleIsBuilt(DIST)) return false;
  const built = (await stat(join(DIST, 'index.html'))).mtimeMs;
  const sources = await Promise.all(CONSOLE_SOURCES.map(newestMtime));
  return built >= Math.max(...sources);
}

function viteBuild(): Promise<void> {
  return new Promise((resolve, reject) => {
    const vite = join(dirname(fileURLToPath(import.meta.resolve('vite/package.json'))), 'bin', 'vite.js');
    const child = spawn(
      process.execPath,
      [vite, 'build', '--config', join(WEB, 'vite.config.ts'), '--logLevel', 'warn'],
      {
        cwd: ROOT,
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`vite build exited with ${code}`)),
    );
  });
}

/** Builds web/dist when it is missing or older than its sources. */
export async function ensureConsoleBuilt(): Promise<string> {
  await buildOnce({
    lock: join(WEB, '.build-lock'),
    isFresh: consoleIsFresh,
    build: viteBuild,
    timeoutMs: 120_000,
    what: 'the console build',
  });
  return DIST;
}

/**
 * Serves the harness's API and the built console on a real loopback port (a browser cannot use
 * inject()). Must run before the harness answers its first request: plugins cannot be added to
 * a Fastify app once it is ready.
 */
export async function listenWithConsole(h: Harness): Promise<string> {
  const dir = await ensureConsoleBuilt();
  await h.app.register(consolePlugin(dir));
  return h.app.listen({ port: 0, host: '127.0.0.1' });
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'mailsystem-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1440, height: 900 },
    locale: 'en-GB',
    timezoneId: 'UTC',
    reducedMotion: 'reduce',
  });
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot under test-artifacts/ (ignored by git) for a person to look at. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Signs in through the form, as a person would. */
export async function signIn(page: Page, base: string, token: string, as: 'tenant' | 'admin' = 'tenant') {
  await page.goto(`${base}/`);
  await page.getByLabel(as === 'admin' ? 'Admin (admin token)' : 'Tenant (API key)', { exact: true }).check();
  await page.getByLabel(as === 'admin' ? 'Admin token' : 'API key', { exact: true }).fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

export interface ConsoleFixture {
  h: Harness;
  /** The API and console, e.g. http://127.0.0.1:41234 */
  base: string;
  browser: Browser;
  close(): Promise<void>;
}

/** A whole system serving the console on a loopback port, and a fresh Chromium to drive it. */
export async function startConsole(opts: HarnessOptions = {}): Promise<ConsoleFixture> {
  const h = await startHarness(opts);
  try {
    const base = await listenWithConsole(h);
    const browser = await launchBrowser();
    return {
      h,
      base,
      browser,
      async close() {
        await browser.close();
        await h.close();
      },
    };
  } catch (e) {
    await h.close();
    throw e;
  }
}
