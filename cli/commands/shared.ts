import { readFile } from 'node:fs/promises';
import { parseJsonObject } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';

/** Prints `value` as JSON for --json, or runs the human rendering. */
export function emit(context: Context, value: unknown, human: () => void): void {
  if (context.json) context.out(JSON.stringify(value, null, 2));
  else human();
}

/** Aligned "name  value" lines; rows without a value are left out. */
export function details(rows: ReadonlyArray<readonly [string, string | undefined]>): string {
  const shown = rows.filter((row): row is readonly [string, string] => row[1] !== undefined && row[1] !== '');
  const width = Math.max(0, ...shown.map(([name]) => name.length));
  return shown.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join('\n');
}

/** A JSON object from `--data '{…}'`, `--file path` or `--file -` (stdin); exactly one of them. */
export async function jsonInput(
  context: Context,
  options: { readonly data?: string; readonly file?: string },
): Promise<Record<string, unknown>> {
  if ((options.data === undefined) === (options.file === undefined))
    throw new UsageError('Give the JSON with exactly one of --data or --file (--file - reads stdin).');
  if (options.data !== undefined) return parseJsonObject(options.data, '--data');
  const file = options.file!;
  let text = '';
  if (file === '-') for await (const chunk of context.stdin) text += chunk.toString();
  else
    text = await readFile(file, 'utf8').catch((error: Error) => {
      throw new UsageError(`Cannot read ${file}: ${error.message}`);
    });
  return parseJsonObject(text, file === '-' ? 'stdin' : file);
}

export const percent = (progress: string | undefined): string | undefined =>
  progress === undefined ? undefined : /^\d+(\.\d+)?$/.test(progress) ? `${progress}%` : progress;
