import type { Command } from 'commander';
import { parseImage, type ImageRef } from '../args.js';
import { CliError, ExitCode } from '../errors.js';
import type { Palette } from '../format.js';
import type { ContextFor } from '../program.js';
import { emit } from './shared.js';

/** lib/diagnosis/model.ts `Diagnosis`, as the API sends it (the CLI imports nothing of the app). */
export interface Diagnosis {
  readonly summary: {
    readonly verdict: 'will-stream' | 'will-not-stream' | 'will-not-pull' | 'unknown';
    readonly image: {
      readonly registry: string;
      readonly repository: string;
      readonly tag?: string;
      readonly digest?: string;
    };
    readonly cluster?: string;
  };
  readonly checks: ReadonlyArray<{
    readonly id: string;
    readonly title: string;
    readonly status: 'pass' | 'fail' | 'warn' | 'info' | 'skipped';
    readonly evidence: string;
    readonly fix?: string;
    readonly docs?: string;
  }>;
  readonly checkedAt: string;
}

const exitCodes: Record<Diagnosis['summary']['verdict'], ExitCode> = {
  'will-stream': ExitCode.ok,
  'will-not-stream': ExitCode.willNotStream,
  'will-not-pull': ExitCode.willNotPull,
  unknown: ExitCode.diagnosisUnknown,
};

const help = `
Exit codes: 0 will stream; ${ExitCode.willNotStream} will not stream (it pulls); ${ExitCode.willNotPull} will not pull; \
${ExitCode.diagnosisUnknown} unknown (a deciding check could not be made); 2 and 3 as for every command (the API \
refused or failed). --json prints the API's answer as it is, with the same exit codes.

Examples:
  acr-streaming doctor team-a/app:v1
  acr-streaming doctor team-a/app@sha256:… --cluster /subscriptions/…/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1`;

export function registerDoctor(program: Command, contextFor: ContextFor): void {
  program
    .command('doctor')
    .description('why an image would not stream or not pull: an ordered checklist with evidence and fixes')
    .argument('<image>', 'repository:tag or repository@sha256:…', parseImage)
    .option('--cluster <id>', "an AKS cluster's resource ID: also check its pull role, network, node pools and region")
    .addHelpText('after', help)
    .action(async (target: ImageRef, options: { cluster?: string }, command: Command) => {
      const context = contextFor(command);
      const registry = context.registry();
      const image = 'digest' in target ? `${target.repository}@${target.digest}` : `${target.repository}:${target.tag}`;
      const diagnosis = await context
        .client()
        .json<Diagnosis>('GET', `/registries/${encodeURIComponent(registry)}/diagnosis`, {
          query: { image, ...(options.cluster ? { cluster: options.cluster } : {}) },
        });
      emit(context, diagnosis, () => context.out(renderDiagnosis(diagnosis, context.style)));
      const { verdict } = diagnosis.summary;
      if (verdict !== 'will-stream') {
        const failed = diagnosis.checks.filter((item) => item.status === 'fail').map((item) => item.id);
        throw new CliError(
          `${verdict}${failed.length > 0 ? ` (failed: ${failed.join(', ')})` : ''}`,
          exitCodes[verdict] ?? ExitCode.diagnosisUnknown,
        );
      }
    });
}

const marks = { pass: '✓', fail: '✗', warn: '!', info: 'i', skipped: '-' } as const;

/** The checklist as a person reads it: a mark per check, the evidence under it, the fix and the docs indented. */
export function renderDiagnosis(diagnosis: Diagnosis, style: Palette): string {
  const { image, verdict, cluster } = diagnosis.summary;
  const name = `${image.registry}/${image.repository}${image.tag ? `:${image.tag}` : ''}${image.digest ? `@${image.digest}` : ''}`;
  const colour = verdict === 'will-stream' ? style.green : verdict === 'unknown' ? style.yellow : style.red;
  const lines = [`${style.bold(name)}${cluster ? ` on ${cluster}` : ''}: ${colour(verdict)}`, ''];
  for (const item of diagnosis.checks) {
    const mark = marks[item.status];
    const painted =
      item.status === 'pass'
        ? style.green(mark)
        : item.status === 'fail'
          ? style.red(mark)
          : item.status === 'warn'
            ? style.yellow(mark)
            : style.dim(mark);
    lines.push(`${painted} ${item.title} ${style.dim(`[${item.id}]`)}`);
    lines.push(`    ${item.evidence}`);
    if (item.fix)
      for (const [index, fix] of item.fix.split('\n').entries())
        lines.push(`    ${index === 0 ? 'fix: ' : '     '}${fix}`);
    if (item.docs && item.status !== 'pass' && item.status !== 'skipped')
      lines.push(`    ${style.dim(`docs: ${item.docs}`)}`);
  }
  return lines.join('\n');
}
