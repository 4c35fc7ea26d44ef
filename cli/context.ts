import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { ApiClient } from './client.js';
import { resolveConnection, type Connection, type Environment, type TokenSource } from './connection.js';
import { CliError, ExitCode, UsageError } from './errors.js';
import { palette, useColor, type Palette } from './format.js';

/** What a run of the CLI gets from the world; main.ts passes the process's, tests their own. */
export interface Runtime {
  readonly env: Environment;
  readonly cwd: string;
  readonly stdout: { write(text: string): unknown; readonly isTTY?: boolean };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
  readonly stdin?: AsyncIterable<Buffer | string>;
  readonly fetch?: typeof fetch;
  readonly tokenSource?: TokenSource;
  readonly now?: () => Date;
  readonly platform?: NodeJS.Platform;
}

/** The global options (README § Command-line client). */
export interface GlobalOptions {
  readonly json?: boolean;
  readonly verbose?: boolean;
  readonly color?: boolean;
  readonly url?: string;
  readonly key?: string;
  readonly audience?: string;
  readonly sandboxFile?: string;
  readonly registry?: string;
}

/** Everything a command needs: output, the API client, the registry it acts on. */
export interface Context {
  readonly json: boolean;
  readonly style: Palette;
  /** Whether stderr is a terminal: live progress rewrites one line there, and only there. */
  readonly liveProgress: boolean;
  readonly env: Environment;
  readonly cwd: string;
  readonly stdin: AsyncIterable<Buffer | string>;
  out(text: string): void;
  err(text: string): void;
  /** Writes to stderr without a newline (progress lines). */
  progress(text: string): void;
  now(): Date;
  client(): ApiClient;
  /** `--registry`, ACR_STREAMING_REGISTRY, or the sandbox's only registry. */
  registry(): string;
  /** Only a registry the caller named: audits and reports cover every registry otherwise. */
  namedRegistry(): string | undefined;
  /** Opens a file in the browser: $BROWSER, else the platform's opener. */
  open(file: string): Promise<void>;
}

export function createContext(command: Command, runtime: Runtime): Context {
  const options = command.optsWithGlobals<GlobalOptions>();
  const color = options.color !== false && useColor(runtime.stdout.isTTY === true, runtime.env);
  let connection: Connection | undefined;
  let client: ApiClient | undefined;
  const connect = (): Connection =>
    (connection ??= resolveConnection(
      {
        ...(options.url === undefined ? {} : { url: options.url }),
        ...(options.key === undefined ? {} : { key: options.key }),
        ...(options.audience === undefined ? {} : { audience: options.audience }),
        ...(options.sandboxFile === undefined ? {} : { sandboxFile: options.sandboxFile }),
      },
      runtime.env,
      runtime.cwd,
      ...(runtime.tokenSource ? [runtime.tokenSource] : []),
    ));
  const named = (): string | undefined => options.registry ?? (runtime.env.ACR_STREAMING_REGISTRY || undefined);
  const err = (text: string): void => void runtime.stderr.write(`${text}\n`);
  return {
    json: options.json === true,
    style: palette(color),
    liveProgress: runtime.stderr.isTTY === true,
    env: runtime.env,
    cwd: runtime.cwd,
    stdin: runtime.stdin ?? (async function* () {})(),
    out: (text) => void runtime.stdout.write(`${text}\n`),
    err,
    progress: (text) => void runtime.stderr.write(text),
    now: runtime.now ?? (() => new Date()),
    client: () =>
      (client ??= new ApiClient(connect(), runtime.fetch ?? fetch, options.verbose ? (line) => err(line) : undefined)),
    registry: () => {
      const registry = named() ?? connect().defaultRegistry;
      if (registry === undefined)
        throw new UsageError('Which registry? Pass --registry <name> or set ACR_STREAMING_REGISTRY.');
      return registry;
    },
    namedRegistry: named,
    open: (file) => openFile(file, runtime.env, runtime.platform ?? process.platform),
  };
}

/** The command that opens a file, as `open`/`xdg-open` users expect; $BROWSER wins, as for git and many CLIs. */
export function opener(file: string, env: Environment, platform: NodeJS.Platform): [string, string[]] {
  if (env.BROWSER) return [env.BROWSER, [file]];
  if (platform === 'darwin') return ['open', [file]];
  if (platform === 'win32') return ['cmd', ['/c', 'start', '""', file]];
  return ['xdg-open', [file]];
}

async function openFile(file: string, env: Environment, platform: NodeJS.Platform): Promise<void> {
  const [command, args] = opener(file, env, platform);
  const child = spawn(command, args, { detached: true, stdio: 'ignore' });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error) =>
      reject(new CliError(`Could not run ${command} to open ${file}: ${error.message}`, ExitCode.usage)),
    );
  });
  // The browser outlives the CLI.
  child.unref();
}
