import type { Writable } from 'node:stream';
import Table from 'cli-table3';
import type { Command } from 'commander';
import {
  ApiError,
  createMailsystemClient,
  describeApiError,
  type MailsystemClient,
  variableValue,
} from '../client/mailsystem-client.js';

/**
 * What every command runs with: where the API is, the credentials, where output goes, and how it
 * is shaped (tables for a person, JSON for a script).
 */

/** Exit codes (docs/cli.md). */
export const EXIT = {
  ok: 0,
  /** The API answered with an error; its message is printed. */
  apiError: 1,
  /** Bad usage: an unknown command or flag, a missing value, a file that cannot be read. */
  usage: 2,
  /** The API could not be reached. */
  unreachable: 3,
  /** The work ended, but not as asked: a bulk job cancelled, an email that failed. */
  unsuccessful: 4,
} as const;

/** A failure the CLI explains itself, in one line, with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface CliIo {
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean; columns?: number };
  env: Record<string, string | undefined>;
  /** Reads a file given on the command line ('-' is standard input). */
  readFile?: (path: string) => Promise<string>;
}

export interface GlobalOptions {
  url?: string;
  key?: string;
  adminToken?: string;
  json?: boolean;
}

export interface Context {
  io: CliIo;
  json: boolean;
  /** A client with the tenant API key (MAILSYSTEM_API_KEY or --key). */
  tenant(): MailsystemClient;
  /** A client with the admin token (MAILSYSTEM_ADMIN_TOKEN or --admin-token). */
  admin(): MailsystemClient;
  /** Writes a result: JSON with --json, else the human form. */
  print(value: unknown, human: () => string): void;
  /** A line for a person on stderr (progress, hints); never in the way of stdout. */
  note(line: string): void;
  table(head: string[], rows: Array<Array<string | number | null | undefined>>): string;
  /** Waits, unless the command was interrupted. */
  sleep(ms: number): Promise<void>;
}

const DEFAULT_URL = 'http://localhost:8000';

export function createContext(cmd: Command, io: CliIo, version: string): Context {
  const opts = cmd.optsWithGlobals<GlobalOptions>();
  const url = opts.url ?? io.env.MAILSYSTEM_URL ?? DEFAULT_URL;
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new CliError(`${opts.url ? '--url' : 'MAILSYSTEM_URL'} must be an http(s) URL (got "${url}")`);
  }
  const headers = { 'user-agent': `mailsystem-cli/${version}` };
  const client = (token: string | undefined, what: string) => {
    if (!token) throw new CliError(`${what} is needed for this command`);
    return createMailsystemClient({ baseUrl: url, token, headers });
  };
  const tty = Boolean(io.stdout.isTTY);
  const json = Boolean(opts.json);
  return {
    io,
    json,
    tenant: () => client(opts.key ?? io.env.MAILSYSTEM_API_KEY, 'an API key (MAILSYSTEM_API_KEY or --key)'),
    admin: () =>
      client(
        opts.adminToken ?? io.env.MAILSYSTEM_ADMIN_TOKEN,
        'the admin token (MAILSYSTEM_ADMIN_TOKEN or --admin-token)',
      ),
    print(value, human) {
      io.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
    },
    note(line) {
      io.stderr.write(`${line}\n`);
    },
    table(head, rows) {
      const t = new Table({
        head,
        style: tty ? { head: ['cyan'], border: ['grey'] } : { head: [], border: [] },
        wordWrap: true,
      });
      for (const r of rows) t.push(r.map((c) => (c === null || c === undefined ? '—' : String(c))));
      return t.toString();
    },
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  };
}

/** The exit code and the one line to print for anything a command threw. */
export function failure(e: unknown): { code: number; line: string } {
  if (e instanceof ApiError) {
    if (e.status === 0) return { code: EXIT.unreachable, line: e.message };
    return { code: EXIT.apiError, line: `${e.code}: ${describeApiError(e)} (HTTP ${e.status})` };
  }
  if (e instanceof CliError) return { code: e.exitCode, line: e.message };
  const message = e instanceof Error ? e.message : String(e);
  return { code: EXIT.apiError, line: `unexpected error: ${message}` };
}

/** `key=value` pairs from repeated flags; a value written as JSON ([…], {…}) is parsed. */
export function keyValues(pairs: string[] | undefined, flag: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new CliError(`${flag} takes name=value (got "${pair}")`);
    out[pair.slice(0, at)] = variableValue(pair.slice(at + 1));
  }
  return out;
}

export const collect = (value: string, previous: string[] = []) => [...previous, value];

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`expected a positive whole number (got "${value}")`);
  return n;
}

export const time = (iso: string | null | undefined) =>
  iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : null;

/** Registers a command's action: the context is built, the exit code returned, failures explained. */
export type Run = (
  cmd: Command,
  action: (ctx: Context, ...args: never[]) => Promise<number | undefined>,
) => void;
