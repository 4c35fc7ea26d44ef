import type { Command } from 'commander';
import { parsePositiveInteger } from '../args.js';
import { formatTable, relativeTime } from '../format.js';
import type { ContextFor } from '../program.js';
import { emit } from './shared.js';

/** lib/http/openapi.ts `AuditRun`. */
interface AuditRun {
  readonly registry: string;
  readonly runId: string;
  readonly startedAt: string;
  readonly completedAt?: string;
  readonly complete: boolean;
  readonly counters: Record<string, number>;
  readonly requestedBy?: string;
}

export function registerAudits(program: Command, contextFor: ContextFor): void {
  const audits = program.command('audits').description('the missing-streaming-artifact audit');

  audits
    .command('run')
    .description('start the audit now: of --registry, or of every configured registry')
    .action(async (_options: object, command: Command) => {
      const context = contextFor(command);
      const registry = context.namedRegistry();
      const answer = await context
        .client()
        .json<{ runs: Array<{ registry: string; runId: string }> }>('POST', '/audits', {
          body: registry === undefined ? {} : { registry },
        });
      emit(context, answer, () => {
        for (const run of answer.runs) context.out(`started audit ${run.runId} of ${run.registry}`);
        context.out(context.style.dim('follow it with: acr-streaming audits list'));
      });
    });

  audits
    .command('list')
    .description('recent audit runs of a registry with their counters, newest first')
    .option('-n, --count <count>', 'how many runs (1 to 100)', parsePositiveInteger, 30)
    .action(async (options: { count: number }, command: Command) => {
      const context = contextFor(command);
      const { items } = await context.client().json<{ items: AuditRun[] }>('GET', '/audits', {
        query: { registry: context.registry(), count: options.count },
      });
      emit(context, items, () =>
        context.out(
          formatTable(
            [
              { header: 'RUN', value: (row) => row.runId },
              { header: 'REGISTRY', value: (row) => row.registry },
              { header: 'STARTED', value: (row) => relativeTime(row.startedAt, context.now()) },
              { header: 'STATE', value: (row) => (row.complete ? 'complete' : 'running') },
              {
                header: 'COUNTERS',
                value: (row) =>
                  Object.entries(row.counters)
                    .map(([name, value]) => `${name}=${value}`)
                    .join(' '),
              },
            ],
            items,
            context.style,
          ),
        ),
      );
    });
}
