import { writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type { ContextFor } from '../program.js';
import { details, emit } from './shared.js';

/** lib/http/routes/reports.ts `generatedReportSchema`. */
interface StoredReport {
  readonly id: string;
  readonly scope: string;
  readonly generatedAt: string;
  readonly registries: string[];
  readonly coveragePercent: number;
  readonly eligible: number;
  readonly streamable: number;
  readonly missing: number;
  readonly failed: number;
  readonly links: Record<string, string>;
}

const formats = ['json', 'csv', 'html', 'md'] as const;

export function registerReports(program: Command, contextFor: ContextFor): void {
  const reports = program.command('reports').description('compliance reports');

  reports
    .command('run')
    .description('generate the compliance report now: of --registry, or of every configured registry')
    .action(async (_options: object, command: Command) => {
      const context = contextFor(command);
      const registry = context.namedRegistry();
      const report = await context
        .client()
        .json<StoredReport>('POST', '/reports', { body: registry === undefined ? {} : { registries: [registry] } });
      emit(context, report, () =>
        context.out(
          details([
            ['report', report.id],
            ['registries', report.registries.join(', ')],
            ['coverage', `${report.coveragePercent}% (${report.streamable} of ${report.eligible} eligible images)`],
            ['missing', String(report.missing)],
            ['failed', String(report.failed)],
            ['see', 'acr-streaming reports latest --format html --open'],
          ]),
        ),
      );
    });

  reports
    .command('latest')
    .description('the newest report: JSON, CSV, Markdown or a self-contained HTML page')
    .addOption(new Option('--format <format>', 'json, csv, html or md').choices(formats).default('json'))
    .option('-o, --output <file>', 'write it to this file instead of stdout')
    .option('--open', 'write it to a file (--output or a temporary one) and open it in the browser')
    .action(async (options: { format: string; output?: string; open?: boolean }, command: Command) => {
      const context = contextFor(command);
      const registry = context.namedRegistry();
      const { text } = await context.client().send('GET', '/reports/latest', {
        query: { format: options.format, ...(registry === undefined ? {} : { registry }) },
      });
      if (options.output === undefined && !options.open) {
        context.out(options.format === 'json' ? JSON.stringify(JSON.parse(text), null, 2) : text);
        return;
      }
      const file =
        options.output === undefined
          ? join(await mkdtemp(join(tmpdir(), 'acr-streaming-')), `report.${options.format}`)
          : resolve(context.cwd, options.output);
      await writeFile(file, text);
      if (options.open) await context.open(file);
      emit(context, { file, opened: options.open === true }, () =>
        context.out(`${options.open ? 'opened' : 'wrote'} ${file}`),
      );
    });
}
