import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { ADMIN_TOKEN } from '../support/env.js';
import { eventually, type Harness, startHarness } from '../support/harness.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'mailsystem.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('the mailsystem command, end to end against a running system', () => {
  let h: Harness;
  let url: string;
  let dir: string;
  let key = '';

  const start = (args: string[], env: Record<string, string> = {}): ChildProcess =>
    spawn(process.execPath, [BIN, ...args], {
      env: {
        PATH: process.env.PATH ?? '',
        MAILSYSTEM_URL: url,
        MAILSYSTEM_ADMIN_TOKEN: ADMIN_TOKEN,
        ...(key ? { MAILSYSTEM_API_KEY: key } : {}),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  /** The bin as a child process: what a user runs, exit code and all. */
  const cliProcess = (args: string[], env: Record<string, string> = {}): Promise<Run> =>
    new Promise((resolve, reject) => {
      const child = start(args, env);
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (d) => {
        stdout += d;
      });
      child.stderr?.on('data', (d) => {
        stderr += d;
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  /** The same program in this process (the machine is small: a Node.js start per call adds up). */
  const cli = async (args: string[], env: Record<string, string> = {}): Promise<Run> => {
    const out = { stdout: '', stderr: '' };
    const sink = (to: 'stdout' | 'stderr') =>
      new Writable({
        write(chunk, _enc, done) {
          out[to] += chunk;
          done();
        },
      });
    const code = await runCli(args, {
      stdout: sink('stdout'),
      stderr: sink('stderr'),
      env: { MAILSYSTEM_URL: url, MAILSYSTEM_ADMIN_TOKEN: ADMIN_TOKEN, MAILSYSTEM_API_KEY: key, ...env },
    });
    return { code, ...out };
  };
  const json = async (args: string[]) => {
    const r = await cli([...args, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout);
  };

  beforeAll(async () => {
    h = await startHarness({
      sink: {
        reply: (rcpt) =>
          rcpt.startsWith('bounce') ? { code: 550, message: '5.1.1 No such mailbox' } : undefined,
      },
    });
    url = await h.app.listen({ port: 0, host: '127.0.0.1' });
    dir = await mkdtemp(join(tmpdir(), 'mailsystem-cli-'));
  });
  afterAll(async () => {
    await h?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('creates a tenant and a key, lists them, and suspends and reactivates the tenant', async () => {
    const tenant = await json(['tenants', 'create', 'CLI tenant', '--id', 'cli-tenant']);
    expect(tenant).toMatchObject({ id: 'cli-tenant', name: 'CLI tenant', status: 'active' });
    const created = await json(['keys', 'create', 'cli-tenant', '--name', 'ci']);
    expect(created.key).toMatch(/^ms_/);
    key = created.key;

    const list = await cli(['tenants', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/cli-tenant\s.*CLI tenant\s.*active/);
    const testKey = await json(['keys', 'create', 'cli-tenant', '--name', 'dev', '--test']);
    expect(testKey).toMatchObject({ mode: 'test', key: expect.stringMatching(/^ms_test_/) });
    const keys = await json(['keys', 'list', 'cli-tenant']);
    expect(keys.items.map((k: { name: string; mode: string }) => [k.name, k.mode])).toEqual([
      ['ci', 'live'],
      ['dev', 'test'],
    ]);

    expect((await cli(['tenants', 'suspend', 'cli-tenant'])).code).toBe(0);
    // A suspension reaches every cached key within a second.
    const refused = await eventually(async () => {
      const r = await cli(['emails', 'list']);
      return r.code === 1 ? r : null;
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^mailsystem: tenant_suspended: .+ \(HTTP 403\)\n$/);
    expect((await cli(['tenants', 'activate', 'cli-tenant'])).code).toBe(0);
    await eventually(async () => (await cli(['emails', 'list'])).code === 0);
  });

  it('pushes a template folder: one version, then nothing new while the files are the same', async () => {
    const folder = join(dir, 'templates', 'welcome');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'subject.liquid'), 'Welcome {{ name }}\n');
    await writeFile(join(folder, 'body.html.liquid'), '<h1>Hello {{ name }}</h1>\n');
    await writeFile(join(folder, 'body.txt.liquid'), 'Hello {{ name }}\n');

    const first = await json(['templates', 'push', join(dir, 'templates')]);
    expect(first.templates).toEqual([
      { name: 'welcome', id: expect.any(String), version: 1, result: 'created' },
    ]);
    const again = await json(['templates', 'push', join(dir, 'templates')]);
    expect(again.templates).toEqual([
      { name: 'welcome', id: first.templates[0].id, version: 1, result: 'unchanged' },
    ]);
    const versions = await h.request('GET', `/templates/${first.templates[0].id}/versions`, { key });
    expect(versions.body.items).toHaveLength(1);
    const stored = await h.request('GET', `/templates/${first.templates[0].id}`, { key });
    expect(stored.body).toMatchObject({
      name: 'welcome',
      subject_template: 'Welcome {{ name }}',
      html_template: '<h1>Hello {{ name }}</h1>\n',
      text_template: 'Hello {{ name }}\n',
    });

    await writeFile(join(folder, 'body.html.liquid'), '<h1>Hello {{ name }}!</h1>\n');
    const changed = await cli(['templates', 'push', folder]);
    expect(changed.code).toBe(0);
    expect(changed.stdout).toMatch(/welcome\s.*\s2\s.*updated/);

    const pulled = await json(['templates', 'pull', join(dir, 'pulled')]);
    expect(pulled.templates).toMatchObject([{ name: 'welcome', version: 2 }]);
    expect(await readFile(join(dir, 'pulled', 'welcome', 'body.html.liquid'), 'utf8')).toBe(
      '<h1>Hello {{ name }}!</h1>\n',
    );
    expect(await readFile(join(dir, 'pulled', 'welcome', 'subject.liquid'), 'utf8')).toBe(
      'Welcome {{ name }}\n',
    );
  });

  it('sends an email by template name and shows its timeline', async () => {
    const sent = await json([
      'send',
      '--to',
      'alice@example.com',
      '--name',
      'Alice',
      '--template',
      'welcome',
      '--var',
      'name=Alice',
    ]);
    expect(sent).toMatchObject({ email_id: expect.any(String), status: 'queued' });
    const [msg] = await h.sink.waitFor(1);
    expect(msg?.subject).toBe('Welcome Alice');
    expect(msg?.html).toContain('<h1>Hello Alice!</h1>');
    await eventually(
      async () => (await h.request('GET', `/emails/${sent.email_id}`, { key })).body.status === 'sent',
    );

    const shown = await cli(['emails', 'get', sent.email_id]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('Alice <alice@example.com>');
    const timeline = [...shown.stdout.matchAll(/^│ \d{4}-\d\d-\d\d \S+ +│ (\w+)/gm)].map((m) => m[1]);
    expect(timeline).toEqual(['queued', 'processing', 'sent']);
    expect(shown.stdout).toMatch(/│ sent +│ attempt: 1; response: 250 /);

    const file = join(dir, 'send.json');
    await writeFile(
      file,
      JSON.stringify({
        recipient: { email: 'bob@example.com' },
        variables: { name: 'Bob' },
        metadata: { from: 'file' },
      }),
    );
    const fromFile = await json(['send', '--file', file, '--template', 'welcome', '--wait']);
    expect(fromFile).toMatchObject({ status: 'sent', metadata: { from: 'file' } });
    expect(fromFile.events.map((e: { type: string }) => e.type)).toEqual(['queued', 'processing', 'sent']);
  });

  it('sends a 200-row CSV in bulk with a progress bar that reaches 100 %', async () => {
    h.sink.clear();
    const rows = Array.from({ length: 200 }, (_, i) => `user${i}@example.com,User ${i},gold`);
    const csv = join(dir, 'people.csv');
    await writeFile(csv, `email,name,plan\n${rows.join('\n')}\n`);
    const r = await cliProcess(['bulk', '--csv', csv, '--template', 'welcome']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('200 of 200 recipients accepted');
    expect(r.stderr).toMatch(/100% \| 200\/200 \| completed/);
    expect(r.stdout).toMatch(/completed\s.*200\s.*200/);
    const messages = await h.sink.waitFor(200);
    expect(new Set(messages.map((m) => m.envelope.to[0])).size).toBe(200);
    expect(messages.find((m) => m.envelope.to[0] === 'user7@example.com')?.subject).toBe('Welcome User 7');
  });

  it('lists failed emails and retries their dead letters', async () => {
    const bounced = await cli([
      'send',
      '--to',
      'bounce@example.com',
      '--template',
      'welcome',
      '--var',
      'name=B',
      '--wait',
      '--json',
    ]);
    expect(bounced.code).toBe(4);
    const sent = JSON.parse(bounced.stdout);
    expect(sent).toMatchObject({ status: 'failed', last_error: expect.stringContaining('550') });
    const failed = await json(['emails', 'list', '--status', 'failed']);
    expect(failed.items.map((e: { email_id: string }) => e.email_id)).toEqual([sent.email_id]);
    const dead = await json(['dead-letters', 'list']);
    expect(dead.items).toMatchObject([{ email_id: sent.email_id, reason: 'permanent' }]);
    const retried = await json(['dead-letters', 'retry', '--all']);
    expect(retried.retried).toEqual([
      { dead_letter_id: dead.items[0].id, email_id: sent.email_id, status: 'queued' },
    ]);
  });

  it('follows new events with tail until interrupted', async () => {
    const child = start(['tail', '--json', '-n', '0', '--every', '200']);
    let out = '';
    let err = '';
    child.stdout?.on('data', (d) => {
      out += d;
    });
    child.stderr?.on('data', (d) => {
      err += d;
    });
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      // tail follows from where the feed stands when it starts.
      await eventually(async () => err.includes('following new events'), 20_000);
      const sent = await h.request('POST', '/send', {
        key,
        body: {
          recipient: { email: 'tail@example.com' },
          template_id: await templateId(),
          variables: { name: 'T' },
        },
      });
      const lines = await eventually(async () => {
        const events = out
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { email_id: string; type: string; recipient: string });
        return events.some((e) => e.type === 'sent') ? events : null;
      }, 20_000);
      expect(lines.map((e) => [e.type, e.email_id, e.recipient])).toEqual([
        ['queued', sent.body.email_id, 'tail@example.com'],
        ['processing', sent.body.email_id, 'tail@example.com'],
        ['sent', sent.body.email_id, 'tail@example.com'],
      ]);
    } finally {
      child.kill('SIGINT');
    }
    expect(await closed).toBe(0);
  });

  it('exits non-zero with the API message on one line for bad input', async () => {
    const bad = await cliProcess([
      'send',
      '--to',
      'not-an-address',
      '--template',
      'welcome',
      '--var',
      'name=x',
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^mailsystem: (validation_failed|invalid_recipient): .*\(HTTP 400\)$/m);

    const missing = await cli(['send', '--to', 'a@example.com', '--template', 'welcome']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^mailsystem: missing_variables: .*missing: name.*\(HTTP 422\)\n$/);

    const unknown = await cli(['emails', 'get', '00000000-0000-4000-8000-000000000000']);
    expect(unknown).toMatchObject({ code: 1, stdout: '' });
    expect(unknown.stderr).toMatch(/^mailsystem: email_not_found: /);

    const noTemplate = await cli(['bulk', '--csv', join(dir, 'people.csv'), '--template', 'nope']);
    expect(noTemplate.code).toBe(1);
    expect(noTemplate.stderr).toBe('mailsystem: no active template is named "nope"\n');

    const usage = await cliProcess(['bulk', '--template', 'welcome']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("required option '--csv <file>' not specified");

    const noKey = await cli(['emails', 'list'], { MAILSYSTEM_API_KEY: '' });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toBe(
      'mailsystem: an API key (MAILSYSTEM_API_KEY or --key) is needed for this command\n',
    );

    const down = await cliProcess(['emails', 'list', '--url', `http://127.0.0.1:${await closedPort()}`]);
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/^mailsystem: The API could not be reached \(ECONNREFUSED\)\.\n$/);
  });

  async function closedPort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    return port;
  }

  async function templateId(): Promise<string> {
    const list = await h.request('GET', '/templates', { key });
    return list.body.items.find((t: { name: string }) => t.name === 'welcome').id;
  }
});
