import type { ComplianceReport } from '../model.js';
import { mergedTopFailures, needsAttention, connectedStateLabels, reportTotals } from '../summary.js';
import { formatInteger, formatPercent, formatTime, onOff } from './text.js';

/** Where the Markdown summary links to; by default the sibling files of the same stored report. */
export interface MarkdownLinks {
  readonly html: string;
  readonly csv: string;
  readonly json: string;
}

const siblingLinks: MarkdownLinks = { html: 'report.html', csv: 'report.csv', json: 'report.json' };

/**
 * Escapes text for Markdown (CommonMark + GFM tables): inline markup, HTML and table pipes become literal, line
 * breaks become spaces, so a repository name can neither format nor break the document.
 */
export function markdownText(text: string): string {
  return (
    text
      .replace(/[\r\n\t]+/g, ' ')
      // Only characters that mean something mid-line: every escaped text here sits inside a line or table cell.
      .replace(/[\\`*_[\]<>|~&]/g, (char) => `\\${char}`)
      .trim()
  );
}

/** A code span; pipes stay escaped (GFM splits table cells before it parses code spans). */
function code(text: string): string {
  if (/[`\r\n]/.test(text)) return markdownText(text);
  return `\`${text.replace(/\|/g, '\\|')}\``;
}

function link(title: string, target: string): string {
  return `[${markdownText(title)}](<${target.replace(/[<>\s]/g, encodeURIComponent)}>)`;
}

/**
 * A short summary for chat, pull requests or e-mail: overall and per-registry coverage, missing and failed counts,
 * the top failures with what to do, connected registries that need attention, and links to the full report.
 */
export function toMarkdown(report: ComplianceReport, links: MarkdownLinks = siblingLinks): string {
  const totals = reportTotals(report);
  const lines: string[] = [];
  lines.push('# Artifact streaming compliance report', '');
  lines.push(
    `Generated ${formatTime(report.generatedAt)} · report ${code(report.id)} · ${markdownText(report.generator.name)} ${markdownText(report.generator.version)}` +
      (report.requestedBy === undefined ? '' : ` · requested by ${code(report.requestedBy)}`),
    '',
  );
  lines.push(
    `**Coverage ${formatPercent(totals.coveragePercent)}**: ${formatInteger(totals.streamable)} of ${formatInteger(totals.eligible)} eligible images are streamable; ` +
      `${formatInteger(totals.missing)} missing, ${formatInteger(totals.failed)} failed, ${formatInteger(totals.inProgress)} in progress ` +
      `across ${formatInteger(totals.registries)} registr${totals.registries === 1 ? 'y' : 'ies'} and ${formatInteger(totals.repositories)} repositories.`,
    '',
  );

  const disabled = report.alertChannels.filter((channel) => channel.status === 'disabled');
  if (disabled.length > 0) {
    lines.push('## Alert channels disabled', '');
    for (const channel of disabled)
      lines.push(`- ${code(channel.name)} (${markdownText(channel.kind)}): ${markdownText(channel.reason ?? '')}`);
    lines.push('');
  }

  lines.push('## Registries', '');
  if (report.registries.length === 0) lines.push('No registries are configured.', '');
  else {
    lines.push(
      '| Registry | Ready | Coverage | Eligible | Streamable | Missing | Failed | In progress | Policy off |',
      '|---|---|--:|--:|--:|--:|--:|--:|--:|',
    );
    for (const registry of report.registries) {
      const t = registry.totals;
      lines.push(
        `| ${markdownText(registry.registry)} | ${registry.readiness.ready ? 'yes' : '**no**'} | ${formatPercent(t.coveragePercent)} | ${formatInteger(t.eligible)} | ${formatInteger(t.streamable)} | ${formatInteger(t.missing)} | ${formatInteger(t.failed)} | ${formatInteger(t.inProgress)} | ${formatInteger(t.repositoriesWithoutPolicy)} |`,
      );
    }
    lines.push('');
    for (const registry of report.registries.filter((candidate) => !candidate.readiness.ready)) {
      const notes =
        registry.readiness.notes.length > 0
          ? registry.readiness.notes.map(markdownText).join('; ')
          : 'see the full report';
      lines.push(`- ${markdownText(registry.registry)} is not ready for streaming: ${notes}`);
    }
    if (report.registries.some((registry) => !registry.readiness.ready)) lines.push('');
    const partial = report.registries.filter((registry) => registry.audit !== undefined && !registry.audit.complete);
    for (const registry of partial)
      lines.push(
        `- The last audit of ${markdownText(registry.registry)} did not complete; its figures may be partial.`,
      );
    if (partial.length > 0) lines.push('');
  }

  const failures = mergedTopFailures(report, 5);
  lines.push('## Top failures', '');
  if (failures.length === 0) lines.push('No failed conversions.', '');
  else {
    lines.push('| Error code | Images | Registries | What to do |', '|---|--:|---|---|');
    for (const failure of failures)
      lines.push(
        `| ${code(failure.errorCode)} | ${formatInteger(failure.count)} | ${failure.registries.map(markdownText).join(', ')} | ${markdownText(failure.remediation)} |`,
      );
    lines.push('');
  }

  const attention = report.registries.flatMap((registry) =>
    registry.connectedRegistries
      .filter(needsAttention)
      .map((connected) => ({ registry: registry.registry, connected })),
  );
  lines.push('## Connected registries needing attention', '');
  if (attention.length === 0)
    lines.push(
      totals.connectedRegistries === 0
        ? 'No connected registries.'
        : `None: all ${formatInteger(totals.connectedRegistries)} connected registries are healthy or syncing.`,
      '',
    );
  else {
    lines.push('| Registry | Connected registry | State | Last activity | What to do |', '|---|---|---|---|---|');
    for (const { registry, connected } of attention) {
      const what = [connected.reason, connected.remediation]
        .filter((part): part is string => part !== undefined && part !== '')
        .map(markdownText)
        .join(' ');
      lines.push(
        `| ${markdownText(registry)} | ${markdownText(connected.name)} | ${connectedStateLabels[connected.state]} | ${formatTime(connected.lastActivityTime)} | ${what || '—'} |`,
      );
    }
    lines.push('');
  }

  const drift = report.registries.flatMap((registry) =>
    registry.drift.map((entry) => ({ registry: registry.registry, entry })),
  );
  if (drift.length > 0) {
    lines.push(
      "## ACR's switch drifted from the policy",
      '',
      '| Registry | Repository | Policy | Wants | ACR reports | State | Found | What happened |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const { registry, entry } of drift)
      lines.push(
        `| ${markdownText(registry)} | ${markdownText(entry.repository)} | ${code(entry.policyScope)} | ${onOff(entry.expected)} | ${onOff(entry.actual)} | ${entry.state === 'open' ? '**not repaired**' : `repaired ${formatTime(entry.closedAt)}`} | ${formatTime(entry.foundAt)} by ${entry.foundBy === 'audit' ? 'the audit' : 'a policy change'} | ${markdownText(entry.message)} |`,
      );
    lines.push('');
  }

  lines.push(...consumersLines(report));

  lines.push(
    '## Full report',
    '',
    `${link('Report (HTML)', links.html)} · ${link('Image findings (CSV)', links.csv)} · ${link('Data (JSON)', links.json)}`,
    '',
  );
  return lines.join('\n');
}

/**
 * Who streams (issue #20): per registry, the capacity, what could not be read, a row per node pool of every cluster
 * in scope with the reason and the fix, and what is and is not known. Nothing for reports made before the section.
 */
function consumersLines(report: ComplianceReport): string[] {
  const registries = report.registries.filter((registry) => registry.consumers !== undefined);
  if (registries.length === 0) return [];
  const lines = ['## Consumers (AKS clusters)', ''];
  for (const registry of registries) {
    const consumers = registry.consumers!;
    const heading = registries.length > 1 || report.registries.length > 1;
    if (heading) lines.push(`### ${markdownText(registry.registry)}`, '');
    if (!consumers.configured) {
      lines.push(...consumers.notes.map(markdownText), '');
      continue;
    }
    const c = consumers.capacity;
    lines.push(
      `**${formatInteger(c.streamingNodes)} of ${formatInteger(c.nodes)} nodes (${formatPercent(c.percent)})** of the clusters that pull from ${markdownText(registry.registry)} are in pools that can stream. Scope: ${consumers.scope.map(code).join(', ')}.`,
      '',
    );
    for (const item of consumers.unreadable) lines.push(`- Could not read: ${markdownText(item)}`);
    if (consumers.unreadable.length > 0) lines.push('');
    if (consumers.clusters.length > 0) {
      lines.push('| Cluster | Pull | Node pool | Nodes | Streaming | Why not | Fix |', '|---|---|---|--:|---|---|---|');
      for (const cluster of consumers.clusters) {
        const name = `${markdownText(cluster.name)} (${markdownText(cluster.resourceGroup)}, ${markdownText(cluster.location)})`;
        if (cluster.pull === 'missing' || cluster.pools.length === 0) {
          lines.push(
            `| ${name} | ${cluster.pull === 'missing' ? '**no pull**' : cluster.pull} | — | — | — | ${markdownText(cluster.reason ?? 'no node pools')} | ${cluster.fix ? command(cluster.fix) : '—'} |`,
          );
          continue;
        }
        // A cluster-level problem (pull unknown, no replica in its region) is a row of its own, before its pools.
        if (cluster.reason)
          lines.push(
            `| ${name} | ${cluster.pull === 'granted' ? 'pulls' : cluster.pull} | (cluster) | — | — | ${markdownText(cluster.reason)} | ${cluster.fix ? command(cluster.fix) : '—'} |`,
          );
        for (const pool of cluster.pools) {
          const why = pool.reasons.map((reason) => markdownText(reason.message)).join('; ');
          const fix = pool.reasons.map((reason) => command(reason.fix)).join('; ');
          lines.push(
            `| ${name} | ${cluster.pull === 'granted' ? 'pulls' : cluster.pull} | ${markdownText(pool.name)} | ${formatInteger(pool.nodes)} | ${pool.canStream ? 'can stream' : '**cannot stream**'} | ${why || '—'} | ${fix || '—'} |`,
          );
        }
      }
      lines.push('');
    }
    lines.push(...consumers.notes.map((note) => `- ${markdownText(note)}`), '');
  }
  return lines;
}

/** A command as a code span; one naming something with `<` or `>` as escaped text, so no markup survives anywhere. */
function command(text: string): string {
  return /[<>]/.test(text) ? markdownText(text) : code(text);
}
