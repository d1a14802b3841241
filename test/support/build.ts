import { spawn } from 'node:child_process';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const OUTPUT = join(ROOT, 'dist', 'main', 'api.js');
const SOURCES = [
  join(ROOT, 'src'),
  join(ROOT, 'scripts', 'build-server.mjs'),
  join(ROOT, 'tsconfig.build.json'),
];
const LOCK = join(ROOT, '.server-build-lock');

async function isFresh(): Promise<boolean> {
  const built = await stat(OUTPUT).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  return built >= Math.max(...(await Promise.all(SOURCES.map(newestMtime))));
}

const build = () =>
  new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'scripts', 'build-server.mjs')], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`build-server exited with ${code}`)),
    );
  });

/**
 * Runs `build` unless `isFresh` says the output is current. Test files run in parallel, so one
 * builds under a lock directory while the others wait for it and then find the build fresh; a
 * lock older than any build is a leftover of a killed run.
 */
export async function buildOnce(opts: {
  lock: string;
  isFresh: () => Promise<boolean>;
  build: () => Promise<void>;
  timeoutMs: number;
  what: string;
}): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  while (!(await opts.isFresh())) {
    try {
      await mkdir(opts.lock);
    } catch {
      const age = await stat(opts.lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > opts.timeoutMs) await rm(opts.lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.what}`);
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    try {
      if (!(await opts.isFresh())) await opts.build();
    } finally {
      await rm(opts.lock, { recursive: true, force: true });
    }
  }
}

/** The newest modification time of a file or of anything below a folder (dist/ and dot-names aside). */
export async function newestMtime(path: string): Promise<number> {
  const s = await stat(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let newest = 0;
  for (const entry of await readdir(path)) {
    if (entry === 'dist' || entry === 'node_modules' || entry.startsWith('.')) continue;
    newest = Math.max(newest, await newestMtime(join(path, entry)));
  }
  return newest;
}

/** `npm run build:server` when dist/ is missing or older than src/: tests run the compiled entry points as the image does. */
export async function ensureServerBuilt(timeoutMs = 240_000): Promise<string> {
  await buildOnce({ lock: LOCK, isFresh, build, timeoutMs, what: 'the server build' });
  return ROOT;
}
