import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

export interface SystemProcess {
  child: ChildProcess;
  baseUrl: string;
  /** The demo key and template the banner printed ('' when the start seeded no demo). */
  apiKey: string;
  templateId: string;
  output(): string;
  /** A JSON POST to the API as the demo tenant; throws when the process is gone. */
  post<T = Record<string, string>>(path: string, body: unknown): Promise<{ status: number; body: T }>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/**
 * Runs `npm start`'s entry point (src/main/start.ts: migrations, API, workers, recovery) as a
 * child process with the given environment and waits until it prints its banner.
 */
export async function startSystemProcess(
  env: Record<string, string>,
  timeoutMs = 30_000,
  opts: { demo?: boolean } = {},
): Promise<SystemProcess> {
  const demo = opts.demo ?? true;
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main/start.ts')], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d) => {
    out += d.toString();
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const address = /listening on (http:\/\/[^\s)]+)/.exec(out)?.[1];
    const key = /Demo API key:\s+(\S+)/.exec(out)?.[1];
    const template = /Template:\s+(\S+)/.exec(out)?.[1];
    // The banner is one write: once it shows the address, the demo lines are there if any.
    if (address && (!demo || (key && template))) {
      return {
        child,
        baseUrl: address,
        apiKey: key ?? '',
        templateId: template ?? '',
        output: () => out,
        post: async <T>(path: string, body: unknown) => {
          const r = await fetch(`${address}${path}`, {
            method: 'POST',
            headers: { authorization: `Bearer ${key ?? ''}`, 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
          return { status: r.status, body: (await r.json()) as T };
        },
        kill: (signal) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill(signal);
          }),
      };
    }
    if (child.exitCode !== null) throw new Error(`the system exited (${child.exitCode}):\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the system did not start in ${timeoutMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
