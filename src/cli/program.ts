import { Command, CommanderError } from 'commander';
import { adminCommands } from './commands/admin.commands.js';
import { emailsCommands } from './commands/emails.commands.js';
import { sendingCommands } from './commands/sending.commands.js';
import { templatesCommands } from './commands/templates.commands.js';
import { type CliIo, createContext, EXIT, failure, type Run } from './context.js';

/**
 * `mailsystem`: the routine work over the public HTTP API (docs/cli.md). It speaks only HTTP,
 * through the typed client, so it works against any Mailsystem it can reach.
 * Resolves to the exit code; never calls process.exit itself.
 */
export async function runCli(argv: string[], io: CliIo, version = '0.0.0'): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = new Command('mailsystem')
    .description('Mailsystem from the command line: tenants, keys, templates, sends, bulk, lookups')
    .version(version)
    .option('--url <url>', 'where the API answers (MAILSYSTEM_URL; default http://localhost:8000)')
    .option('--key <key>', 'a tenant API key (MAILSYSTEM_API_KEY)')
    .option('--admin-token <token>', 'the admin token, for tenants and keys (MAILSYSTEM_ADMIN_TOKEN)')
    .option('--json', 'print JSON for scripts instead of tables')
    .showHelpAfterError('(mailsystem --help lists the commands)')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(s.startsWith('error:') ? `mailsystem: ${s.slice(7)}` : s),
    })
    .exitOverride();

  const run: Run = (cmd, action) => {
    cmd.exitOverride().action(async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      try {
        const ctx = createContext(command, io, version);
        exitCode = (await action(ctx, ...(args.slice(0, -1) as never[]))) ?? EXIT.ok;
      } catch (e) {
        const f = failure(e);
        io.stderr.write(`mailsystem: ${f.line}\n`);
        exitCode = f.code;
      }
    });
  };
  adminCommands(program, run);
  templatesCommands(program, run);
  sendingCommands(program, run);
  emailsCommands(program, run);

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here too, with code 0.
      return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    throw e;
  }
  return exitCode;
}
