import { Option, type Command } from 'commander';
import {
  parseDigestImage,
  parseImage,
  parsePositiveInteger,
  parsePositiveNumber,
  parseSince,
  type DigestImage,
  type ImageRef,
} from '../args.js';
import type { Context } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import { formatTable, relativeTime, shortDigest, statusText } from '../format.js';
import type { ContextFor } from '../program.js';
import { details, emit, percent } from './shared.js';

/** lib/conversion/api.ts `ConversionView`, the fields the CLI shows. */
export interface Conversion {
  readonly registry: string;
  readonly repository: string;
  readonly digest: string;
  readonly status: string;
  readonly tags: string[];
  readonly reason: string;
  readonly platforms?: string;
  readonly policyScope?: string;
  readonly source: string;
  readonly operationId?: string;
  readonly operationStatus?: string;
  readonly progress?: string;
  /** When the app expects ACR to finish, from the rate of progress it observed. */
  readonly expectedFinishAt?: string;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly lastErrorCode?: string;
  readonly lastErrorMessage?: string;
  readonly remediation?: string;
  readonly requestedBy?: string;
  readonly canceledBy?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly completedAt?: string;
}

const statuses = ['Skipped', 'Pending', 'Running', 'Succeeded', 'Failed', 'TimedOut', 'Canceled', 'Deleted'];
/** Pending and Running change on their own; every other state stays until someone acts (lib/core/image.ts). */
export const isFinal = (status: string): boolean => status !== 'Pending' && status !== 'Running';

const conversionsPath = (registry: string): string => `/registries/${encodeURIComponent(registry)}/conversions`;

export function registerConversions(program: Command, contextFor: ContextFor): void {
  const conversions = program.command('conversions').description('start, follow and cancel conversions');

  conversions
    .command('list')
    .description('conversions of a registry, newest first')
    .option('--repository <name>', 'only this repository')
    .addOption(new Option('--status <status>', 'only this state').choices(statuses))
    .option('--since <time>', 'changed since an ISO time or a duration ago (30m, 2h, 1d)', (text) => parseSince(text))
    .option('-n, --limit <count>', 'at most this many', parsePositiveInteger, 100)
    .action(
      async (options: { repository?: string; status?: string; since?: string; limit: number }, command: Command) => {
        const context = contextFor(command);
        const { limit, ...filters } = options;
        const items = await context
          .client()
          .all<Conversion>(
            conversionsPath(context.registry()),
            { ...filters, pageSize: Math.min(limit, 1_000) },
            limit,
          );
        emit(context, items, () =>
          context.out(
            formatTable(
              [
                { header: 'REPOSITORY', value: (row) => row.repository },
                { header: 'DIGEST', value: (row) => shortDigest(row.digest) },
                { header: 'TAGS', value: (row) => row.tags.join(',') },
                { header: 'STATUS', value: (row) => statusText(row.status, context.style) },
                { header: 'PROGRESS', value: (row) => percent(row.progress) ?? '', align: 'right' },
                { header: 'UPDATED', value: (row) => relativeTime(row.updatedAt, context.now()) },
              ],
              items,
              context.style,
            ),
          ),
        );
      },
    );

  // get and cancel address one recorded conversion and show it; they differ only in the request.
  const onRecord = (name: string, description: string, method: 'GET' | 'POST', suffix: string): void => {
    conversions
      .command(name)
      .description(description)
      .argument('<image>', 'repository@sha256:…', parseDigestImage)
      .action(async ({ repository, digest }: DigestImage, _options: object, command: Command) => {
        const context = contextFor(command);
        const path = `${conversionsPath(context.registry())}/${digest}${suffix}`;
        const view = await context.client().json<Conversion>(method, path, { query: { repository } });
        emit(context, view, () => context.out(describe(context, view)));
      });
  };
  onRecord('get', "one image's conversion", 'GET', '');

  conversions
    .command('start')
    .description("convert an image now, whatever its policy's tag rules say")
    .argument('<image>', 'repository:tag or repository@sha256:…', parseImage)
    .option('--force', 'try even when the platform looks unsupported (ACR answers with its own error)')
    .option('-w, --wait', "follow it to a final state, showing ACR's progress; exit 4 unless it succeeds")
    .option('--timeout <seconds>', 'with --wait: give up after this long (exit 5)', parsePositiveNumber, 1_800)
    .option('--interval <seconds>', 'with --wait: seconds between polls', parsePositiveNumber, 1)
    .action(
      async (
        target: ImageRef,
        options: { force?: boolean; wait?: boolean; timeout: number; interval: number },
        command: Command,
      ) => {
        const context = contextFor(command);
        const registry = context.registry();
        const started = await context.client().json<Conversion>('POST', conversionsPath(registry), {
          body: { ...target, ...(options.force ? { force: true } : {}) },
        });
        if (!options.wait) {
          emit(context, started, () => context.out(describe(context, started)));
          return;
        }
        const final = await follow(context, started, options.timeout * 1_000, options.interval * 1_000);
        emit(context, final, () => context.out(describe(context, final)));
        if (final.status !== 'Succeeded')
          throw new CliError(
            `${final.repository}@${shortDigest(final.digest)} ended ${final.status}`,
            ExitCode.unsuccessful,
          );
      },
    );

  onRecord('cancel', 'cancel a running conversion', 'POST', '/cancel');
}

/**
 * Polls the record until a final state: the state lives in the app's storage and ACR, and the API has no push
 * channel. On a terminal one line is rewritten in place; elsewhere (CI logs) a line is printed per change.
 */
async function follow(context: Context, view: Conversion, timeoutMs: number, intervalMs: number): Promise<Conversion> {
  const deadline = Date.now() + timeoutMs;
  const path = `${conversionsPath(view.registry)}/${view.digest}`;
  let current = view;
  let shown = '';
  for (;;) {
    const line = progressLine(current);
    if (line !== shown) {
      context.progress(context.liveProgress ? `\r\u001b[K${line}` : `${line}\n`);
      shown = line;
    }
    if (isFinal(current.status)) break;
    if (Date.now() >= deadline) {
      if (context.liveProgress) context.progress('\n');
      throw new CliError(
        `Gave up waiting after ${Math.round(timeoutMs / 1_000)} s; the conversion is still ${current.status}.`,
        ExitCode.waitTimedOut,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    current = await context.client().json<Conversion>('GET', path, { query: { repository: view.repository } });
  }
  if (context.liveProgress) context.progress('\n');
  return current;
}

export function progressLine(view: Conversion): string {
  const acr = [view.operationStatus, percent(view.progress)].filter(Boolean).join(' ');
  const finish = expectedFinish(view);
  const shown = [acr && `ACR: ${acr}`, finish && `expected to finish at ${finish}`].filter(Boolean).join(', ');
  return `${view.repository}@${shortDigest(view.digest)}: ${view.status}${shown ? ` (${shown})` : ''}`;
}

/**
 * A running conversion's expected end as a time of day (UTC): unlike "in 40 s" it stays the same line between the
 * app's polls, so a log gets one line per change of estimate, not one per --wait poll.
 */
function expectedFinish(view: Conversion): string | undefined {
  if (view.status !== 'Running' || view.expectedFinishAt === undefined) return undefined;
  const time = Date.parse(view.expectedFinishAt);
  return Number.isNaN(time) ? undefined : `${new Date(time).toISOString().slice(11, 19)} UTC`;
}

function describe(context: Context, view: Conversion): string {
  const now = context.now();
  const style = context.style;
  return details([
    ['image', `${view.registry}/${view.repository}@${view.digest}`],
    ['tags', view.tags.join(', ')],
    ['status', statusText(view.status, style)],
    ['reason', view.reason],
    ['progress', [view.operationStatus, percent(view.progress)].filter(Boolean).join(' ')],
    [
      'expected finish',
      view.status === 'Running' ? view.expectedFinishAt && relativeTime(view.expectedFinishAt, now) : undefined,
    ],
    ['attempts', `${view.attempts} of ${view.maxAttempts}`],
    ['error', view.lastErrorCode && `${view.lastErrorCode}: ${view.lastErrorMessage ?? ''}`],
    ['remediation', view.remediation],
    ['policy', view.policyScope],
    ['source', view.source + (view.requestedBy ? ` (by ${view.requestedBy})` : '')],
    ['canceled by', view.canceledBy],
    ['updated', relativeTime(view.updatedAt, now)],
    ['completed', view.completedAt && relativeTime(view.completedAt, now)],
  ]);
}
