import { Option, type Command } from 'commander';
import { parsePositiveInteger } from '../args.js';
import { formatTable, relativeTime, statusText } from '../format.js';
import type { ContextFor } from '../program.js';
import { details, emit } from './shared.js';

/** lib/http/openapi.ts `AlertDelivery`, the fields the CLI shows. */
interface Alert {
  readonly id: string;
  readonly channel: string;
  readonly kind: string;
  readonly registry: string;
  readonly type: string;
  readonly severity: string;
  readonly status: string;
  readonly note?: string;
  readonly attempts: number;
  readonly lastStatus?: number;
  readonly resentBy?: string;
  readonly updatedAt: string;
}

const alertStatuses = ['pending', 'delivered', 'failed', 'suppressed', 'summarized', 'dry-run'];

export function registerAlerts(program: Command, contextFor: ContextFor): void {
  const alerts = program.command('alerts').description('alert deliveries and dead letters');

  alerts
    .command('list')
    .description('alert deliveries, newest first; --status failed lists the dead letters')
    .addOption(new Option('--status <status>', 'only this state').choices(alertStatuses))
    .option('--channel <name>', 'only this channel')
    .option('-n, --limit <count>', 'at most this many', parsePositiveInteger, 100)
    .action(async (options: { status?: string; channel?: string; limit: number }, command: Command) => {
      const context = contextFor(command);
      const { limit, ...filters } = options;
      const items = await context.client().all<Alert>('/alerts', filters, limit);
      emit(context, items, () =>
        context.out(
          formatTable(
            [
              { header: 'ID', value: (row) => row.id },
              { header: 'TYPE', value: (row) => row.type },
              { header: 'SEVERITY', value: (row) => row.severity },
              { header: 'STATUS', value: (row) => statusText(row.status, context.style) },
              { header: 'ATTEMPTS', value: (row) => String(row.attempts), align: 'right' },
              { header: 'UPDATED', value: (row) => relativeTime(row.updatedAt, context.now()) },
            ],
            items,
            context.style,
          ),
        ),
      );
    });

  alerts
    .command('resend <id>')
    .description('send an alert again with fresh attempts (id as listed: {channel}.{key})')
    .action(async (id: string, _options: object, command: Command) => {
      const context = contextFor(command);
      const alert = await context.client().json<Alert>('POST', `/alerts/${encodeURIComponent(id)}/resend`);
      emit(context, alert, () =>
        context.out(
          details([
            ['queued', alert.id],
            ['channel', alert.channel],
            ['status', statusText(alert.status, context.style)],
            ['note', alert.note],
          ]),
        ),
      );
    });
}
