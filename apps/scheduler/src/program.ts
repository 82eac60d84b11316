/**
 * The `ksched` command line: commander program with one subcommand per task.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { cancelCommand } from './commands/cancel.js';
import { processIo, type Io } from './commands/common.js';
import { listCommand } from './commands/list.js';
import { findCommand } from './commands/find.js';
import { rescheduleCommand } from './commands/reschedule.js';
import { runCommand } from './commands/run.js';
import { scheduleCommand } from './commands/schedule.js';
import { startCommand } from './commands/start.js';
import { statusCommand } from './commands/status.js';
import { topicsCommand } from './commands/topics.js';
import { uiCommand } from './commands/ui.js';
import { describeError, ExitCode } from './errors.js';

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Builds the `ksched` program. */
export function buildProgram(io: Io = processIo): Command {
  const program = new Command('ksched')
    .description('ksched: Kafka scheduled messages (wire-compatible with the Karafka v1.0.0 format) — the scheduler service and its tools.')
    .version(version(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .showSuggestionAfterError(true)
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s.replace(/\n$/, '')) })
    .exitOverride();
  program
    .addCommand(runCommand())
    .addCommand(startCommand())
    .addCommand(topicsCommand(io))
    .addCommand(scheduleCommand(io))
    .addCommand(cancelCommand(io))
    .addCommand(statusCommand(io))
    .addCommand(listCommand(io))
    .addCommand(findCommand(io))
    .addCommand(rescheduleCommand(io))
    .addCommand(uiCommand());
  program.addHelpText(
    'after',
    `
Configuration: every setting has a flag, a KSCHED_* environment variable and a key in the JSON
config file (--config or KSCHED_CONFIG); precedence: flags > environment > config file > defaults.
\`ksched <command> --help\` lists the settings of a command with their variables and defaults.

Exit codes: 0 success; 1 failure (Kafka unreachable, topic differences, shutdown timeout);
2 bad usage or configuration (nothing was done).

Quick start (local broker, from the repository root):
  pnpm start                                           # broker + topics + scheduler + demo
  apps/scheduler/bin/ksched.js schedule -b 127.0.0.1:19092 -t ksched_demo --payload hi --in 10s
  apps/scheduler/bin/ksched.js status -b 127.0.0.1:19092`,
  );
  for (const command of allCommands(program)) {
    command.exitOverride();
    command.configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s.replace(/\n$/, '')) });
  }
  return program;
}

function allCommands(command: Command): Command[] {
  return command.commands.flatMap((c) => [c, ...allCommands(c)]);
}

/**
 * Runs the command line and resolves with the exit code. Errors are printed as one line on the
 * error stream: `error: <what went wrong>`.
 */
export async function runCli(argv: readonly string[], io: Io = processIo): Promise<number> {
  const program = buildProgram(io);
  if (argv.length <= 2) {
    program.outputHelp();
    return ExitCode.usage;
  }
  // `pnpm start -- --no-demo` hands the `--` on to the command; after a command name it would make
  // every option an operand ("too many arguments"), so a `--` right there is dropped.
  const args = argv[3] === '--' && argv[2] !== undefined && !argv[2].startsWith('-') ? [...argv.slice(0, 3), ...argv.slice(4)] : [...argv];
  try {
    await program.parseAsync(args);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander has printed its message already (help and version exit 0).
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    io.err(`error: ${describeError(error).message}`);
    return describeError(error).exitCode;
  }
}
