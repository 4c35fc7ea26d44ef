import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { developmentStorageConnectionString } from '../lib/config.js';

export interface AzuriteOptions {
  /** Folder for persistent data; undefined keeps everything in memory. */
  readonly location?: string;
  /** 0 (default) lets the OS pick; the real ports are read back from Azurite's own start-up lines. */
  readonly ports?: { readonly blob: number; readonly queue: number; readonly table: number };
}

export interface RunningAzurite {
  readonly ports: { readonly blob: number; readonly queue: number; readonly table: number };
  readonly connectionString: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);

/**
 * Starts Azurite (blob, queue, table) as a child process on loopback with telemetry off — the real storage
 * emulator, never a mock. Resolves once all three services report the address they listen on.
 */
export async function startAzurite(options: AzuriteOptions = {}): Promise<RunningAzurite> {
  const entry = require.resolve('azurite/dist/src/azurite.js');
  const ports = options.ports ?? { blob: 0, queue: 0, table: 0 };
  const args = [
    entry,
    '--blobHost',
    '127.0.0.1',
    '--queueHost',
    '127.0.0.1',
    '--tableHost',
    '127.0.0.1',
    '--blobPort',
    String(ports.blob),
    '--queuePort',
    String(ports.queue),
    '--tablePort',
    String(ports.table),
    '--disableTelemetry',
    '--silent',
    '--skipApiVersionCheck',
  ];
  if (options.location === undefined) {
    args.push('--inMemoryPersistence');
  } else {
    mkdirSync(options.location, { recursive: true });
    args.push('--location', options.location);
  }
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const listening = await new Promise<Record<string, number>>((resolve, reject) => {
    const found: Record<string, number> = {};
    let output = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      for (const match of output.matchAll(
        /Azurite (Blob|Queue|Table) service is successfully listening at http:\/\/[^:]+:(\d+)/g,
      )) {
        found[match[1]!.toLowerCase()] = Number(match[2]);
      }
      if (Object.keys(found).length === 3) resolve(found);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('exit', (code) =>
      reject(new Error(`Azurite exited with code ${code ?? 'null'} before it was ready:\n${output.slice(-2000)}`)),
    );
    child.once('error', reject);
  });
  child.stdout.removeAllListeners('data');
  child.stdout.resume();
  child.stderr.resume();
  const actual = { blob: listening.blob!, queue: listening.queue!, table: listening.table! };
  return {
    ports: actual,
    connectionString: developmentStorageConnectionString(actual),
    process: child,
    stop: () => stopChild(child),
  };
}

export async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
