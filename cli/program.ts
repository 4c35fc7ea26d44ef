import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { registerAlerts } from './commands/alerts.js';
import { registerAudits } from './commands/audits.js';
import { registerConversions } from './commands/conversions.js';
import { registerDoctor } from './commands/doctor.js';
import { registerPolicy } from './commands/policy.js';
import { registerReports } from './commands/reports.js';
import { createContext, type Context, type Runtime } from './context.js';
import { ApiError, CliError, ExitCode } from './errors.js';
import { palette, renderProblem, useColor } from './format.js';

/** Builds a command's Context from its parsed options; each command group registers with one. */
export type ContextFor = (command: Command) => Context;

export function buildProgram(runtime: Runtime): Command {
  const program = new Command('acr-streaming')
    .description('Command-line client of the acr-streaming-autopilot HTTP API')
    .option('--json', 'machine-readable output (JSON on stdout)')
    .option('-v, --verbose', 'print each request and its status on stderr (never keys or tokens)')
    .option('--no-color', 'no colours, even on a terminal')
    .option('-r, --registry <name>', 'registry to act on (env ACR_STREAMING_REGISTRY; the sandbox has one)')
    .option('--url <url>', 'the function app, e.g. https://myapp.azurewebsites.net (env ACR_STREAMING_URL)')
    .addOption(new Option('--key <key>', 'function key (prefer env ACR_STREAMING_FUNCTION_KEY: flags show in ps)'))
    .addOption(
      new Option(
        '--audience <client-id>',
        "the app registration's client id or api:// URI (env ACR_STREAMING_AUDIENCE)",
      ),
    )
    .addOption(
      new Option(
        '--sandbox-file <path>',
        'a sandbox.json (env ACR_STREAMING_SANDBOX_FILE; default .sandbox/sandbox.json)',
      ),
    )
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (text) => void runtime.stdout.write(text),
      writeErr: (text) => void runtime.stderr.write(text),
    })
    // Subcommands created after this inherit it: exit codes come back to runCli instead of process.exit.
    .exitOverride();
  const contextFor: ContextFor = (command) => createContext(command, runtime);
  registerPolicy(program, contextFor);
  registerConversions(program, contextFor);
  registerAudits(program, contextFor);
  registerReports(program, contextFor);
  registerAlerts(program, contextFor);
  registerDoctor(program, contextFor);
  return program;
}

/** Runs the CLI on `argv` (without node and the script) and returns the exit code; never calls process.exit. */
export async function runCli(argv: readonly string[], runtime: Runtime): Promise<number> {
  const program = buildProgram(runtime);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ExitCode.ok;
  } catch (error) {
    return report(error, program, runtime);
  }
}

function report(error: unknown, program: Command, runtime: Runtime): number {
  const options = program.opts<{ json?: boolean; verbose?: boolean; color?: boolean }>();
  const style = palette(options.color !== false && useColor(runtime.stderr.isTTY === true, runtime.env));
  // Commander reports its own parse errors as a CommanderError it has already printed; an InvalidArgumentError
  // that reaches here was thrown by a command's own checks and has not been.
  if (error instanceof InvalidArgumentError) {
    runtime.stderr.write(`${style.red('error')}: ${error.message}\n`);
    return ExitCode.usage;
  }
  // Help and --version are "errors" to commander; their text is already out.
  if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  if (error instanceof ApiError) {
    runtime.stderr.write(`${renderProblem(error.status, error.problem, error.message, style)}\n`);
    for (const note of error.notes) runtime.stderr.write(`${note}\n`);
    if (options.json)
      runtime.stdout.write(`${JSON.stringify({ status: error.status, problem: error.problem, ...error.extra })}\n`);
    return error.exitCode;
  }
  if (error instanceof CliError) {
    runtime.stderr.write(`${style.red('error')}: ${error.message}\n`);
    return error.exitCode;
  }
  // A bug: say so plainly; the stack only when asked for.
  const text = error instanceof Error ? error.message : String(error);
  runtime.stderr.write(`${style.red('error')}: unexpected: ${text}\n`);
  if (options.verbose && error instanceof Error && error.stack) runtime.stderr.write(`${error.stack}\n`);
  return ExitCode.internal;
}
