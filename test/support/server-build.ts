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

async function newestMtime(path: string): Promise<number> {
  const s = await stat(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let newest = 0;
  for (const entry of await readdir(path)) newest = Math.max(newest, await newestMtime(join(path, entry)));
  return newest;
}

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
 * `npm run build:server` when dist/ is missing or older than src/, so that tests can run the
 * compiled entry points exactly as the container image does. One test file builds under a lock
 * directory while others wait.
 */
export async function ensureServerBuilt(timeoutMs = 240_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!(await isFresh())) {
    try {
      await mkdir(LOCK);
    } catch {
      const age = await stat(LOCK).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > timeoutMs) await rm(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error('timed out waiting for the server build');
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    try {
      if (!(await isFresh())) await build();
    } finally {
      await rm(LOCK, { recursive: true, force: true });
    }
  }
  return ROOT;
}
