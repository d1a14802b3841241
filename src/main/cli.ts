import { readFileSync } from 'node:fs';
import { runCli } from '../cli/program.js';

// The `mailsystem` command (bin/mailsystem.js runs this file, compiled or through tsx).
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};
process.exitCode = await runCli(
  process.argv.slice(2),
  {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  },
  pkg.version,
);
