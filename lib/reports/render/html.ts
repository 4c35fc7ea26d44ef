import type {
  FindingStatus,
  ComplianceReport,
  ConnectedRegistryReport,
  ConsumersSection,
  RegistryReport,
  RepositoryCoverage,
} from '../model.js';
import { connectedStateLabels, mergedTopFailures, needsAttention, reportTotals } from '../summary.js';
import { esc } from './html-escape.js';
import {
  capacityBars,
  checkIcon,
  coverageBars,
  gauge,
  palette,
  repositoriesForChart,
  stateColours,
  statusDonut,
  trendChart,
} from './svg.js';
import { ellipsize, formatInteger, formatPercent, formatTime, onOff } from './text.js';

/**
 * The Content-Security-Policy the page is served with (GET /api/reports/latest?format=html) and also declares in a
 * `<meta>` tag, so it holds when the file is opened from disk or a mail attachment: nothing may load or run.
 */
export const reportContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/** Rows of the repository table per registry; the CSV and JSON carry every one. */
export const repositoryTableLimit = 200;

export interface HtmlOptions {
  /**
   * APP_BASE_URL without a trailing slash: the diagnosis links of images that do not stream point there. Without it
   * they are root-relative (`/api/registries/…`), which works where the app serves the report (GET /api/reports/…).
   */
  readonly appBaseUrl?: string;
}

/** The doctor's route for one image (issue #20 §2): `GET /api/registries/{registry}/diagnosis?image=repo@digest`. */
export function diagnosisLink(
  appBaseUrl: string | undefined,
  registry: string,
  repository: string,
  digest: string,
): string {
  return `${appBaseUrl ?? ''}/api/registries/${encodeURIComponent(registry)}/diagnosis?image=${encodeURIComponent(`${repository}@${digest}`)}`;
}

const findingStatusLabels: Record<FindingStatus, string> = {
  converted: 'Streamable',
  missing: 'Missing',
  failed: 'Failed',
  'in-progress': 'In progress',
  'stale-operation': 'Stale operation',
  ineligible: 'Not eligible',
};

/** Images that do not stream, each linked to its diagnosis; nothing for reports made before the list existed. */
function notStreamingPanel(registry: RegistryReport, options: HtmlOptions): string {
  const images = registry.imagesNotStreaming;
  if (images === undefined || images.length === 0) return '';
  const t = registry.totals;
  const total = t.missing + t.failed + t.inProgress + t.ineligible;
  const rows = images.map(
    (image) =>
      `<tr><th scope="row">${esc(image.repository)}${image.tags.length > 0 ? `<br><span class="muted">${esc(image.tags.slice(0, 5).join(', '))}</span>` : ''}<br><code title="${esc(image.digest)}">${esc(image.digest.slice(0, 19))}…</code></th><td>${esc(findingStatusLabels[image.status])}${image.errorCode ? `<br><code>${esc(image.errorCode)}</code>` : ''}</td><td class="remedy">${esc(image.reason)}</td><td><a href="${esc(diagnosisLink(options.appBaseUrl, registry.registry, image.repository, image.digest))}">Why not?</a></td></tr>`,
  );
  const more =
    total > images.length
      ? `<p class="muted">${esc(formatInteger(total - images.length))} more are in the CSV report.</p>`
      : '';
  return `<details class="panel"><summary><h3>Images that do not stream</h3></summary><p class="muted small">Each links to its diagnosis: every reason it would not stream or not pull, with the evidence and the fix.</p><div class="table-wrap"><table><caption class="sr-only">Images of ${esc(registry.registry)} that do not stream, with a link to each one's diagnosis</caption><thead><tr><th scope="col">Image</th><th scope="col">Status</th><th scope="col">Why</th><th scope="col">Diagnosis</th></tr></thead><tbody>${rows.join('\n')}</tbody></table></div>${more}</details>`;
}

/**
 * The report as one self-contained HTML page: inline CSS and SVG only — no scripts, fonts, images or requests —
 * so it can be mailed, archived or printed and still look the same. Every text from the report is escaped.
 */
export function toHtml(report: ComplianceReport, options: HtmlOptions = {}): string {
  const totals = reportTotals(report);
  const title = `Artifact streaming compliance — ${formatTime(report.generatedAt)}`;
  const body = [
    masthead(report, totals.coveragePercent),
    '<main>',
    summaryTiles(totals),
    report.registries.length > 1 ? registryOverview(report) : '',
    topFailuresSection(report),
    ...report.registries.map((registry, index) => registrySection(registry, index, options)),
    report.registries.length === 0
      ? '<section class="card"><p class="muted">No registries are configured, so there is nothing to report.</p></section>'
      : '',
    '</main>',
    footer(report),
  ];
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta http-equiv="Content-Security-Policy" content="${esc(reportContentSecurityPolicy)}">`,
    '<meta name="referrer" content="no-referrer">',
    '<meta name="color-scheme" content="light">',
    `<title>${esc(title)}</title>`,
    `<style>${stylesheet}</style>`,
    '</head>',
    '<body>',
    ...body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function masthead(report: ComplianceReport, coverage: number): string {
  const nav =
    report.registries.length > 1
      ? `<nav aria-label="Registries"><ul>${report.registries.map((registry, index) => `<li><a href="#registry-${index}">${esc(registry.registry)}</a></li>`).join('')}</ul></nav>`
      : '';
  return `<header class="masthead"><div class="masthead-inner">
<div class="masthead-text">
<p class="eyebrow">Azure Container Registry · artifact streaming</p>
<h1>Compliance report</h1>
<p class="meta">Generated <time datetime="${esc(report.generatedAt)}">${esc(formatTime(report.generatedAt))}</time> · ${esc(report.registries.length)} registr${report.registries.length === 1 ? 'y' : 'ies'} · report <code>${esc(report.id)}</code>${report.requestedBy === undefined ? '' : ` · requested by <code>${esc(report.requestedBy)}</code>`}</p>
${nav}
</div>
<div class="masthead-gauge">${gauge('overall-gauge', coverage, 'Overall streaming coverage')}</div>
</div></header>`;
}

function tile(label: string, value: string, note: string, tone: 'good' | 'warn' | 'bad' | 'info' | 'neutral'): string {
  return `<div class="tile tone-${tone}"><p class="tile-label">${esc(label)}</p><p class="tile-value">${esc(value)}</p><p class="tile-note">${esc(note)}</p></div>`;
}

function coverageTone(percent: number): 'good' | 'warn' | 'bad' {
  return percent >= 95 ? 'good' : percent >= 80 ? 'warn' : 'bad';
}

function summaryTiles(totals: ReturnType<typeof reportTotals>): string {
  return `<section class="tiles" aria-label="Summary">
${tile('Coverage', formatPercent(totals.coveragePercent), `${formatInteger(totals.streamable)} of ${formatInteger(totals.eligible)} eligible images streamable`, coverageTone(totals.coveragePercent))}
${tile('Missing', formatInteger(totals.missing), 'eligible images without a streaming artifact', totals.missing > 0 ? 'warn' : 'good')}
${tile('Failed', formatInteger(totals.failed), 'conversions that ended in failure', totals.failed > 0 ? 'bad' : 'good')}
${tile('In progress', formatInteger(totals.inProgress), 'conversions running now', 'info')}
${tile('Repositories', formatInteger(totals.repositories), `${formatInteger(totals.ineligible)} images not eligible`, 'neutral')}
${tile('Connected registries', totals.connectedRegistries === 0 ? '—' : `${formatInteger(totals.connectedNeedingAttention)} / ${formatInteger(totals.connectedRegistries)}`, totals.connectedRegistries === 0 ? 'none configured' : 'need attention', totals.connectedNeedingAttention > 0 ? 'bad' : 'good')}
</section>`;
}

/**
 * A small stacked bar in the legend's colours (streamable, in progress, failed, missing): a half-covered
 * repository with nothing failed shows green and amber, never the Failed red (issue #18 § 5).
 */
function meter(
  counts: Pick<RepositoryCoverage, 'eligible' | 'streamable' | 'inProgress' | 'failed' | 'missing'>,
): string {
  const whole = Math.max(counts.eligible, counts.streamable + counts.inProgress + counts.failed + counts.missing);
  if (whole <= 0) return '<span class="meter" aria-hidden="true"></span>';
  const segments = (
    [
      [counts.streamable, palette.streamable],
      [counts.inProgress, palette.inProgress],
      [counts.failed, palette.failed],
      [counts.missing, palette.missing],
    ] as const
  )
    .filter(([count]) => count > 0)
    .map(
      ([count, colour]) => `<span style="width:${((count / whole) * 100).toFixed(1)}%;background:${colour}"></span>`,
    );
  return `<span class="meter" aria-hidden="true">${segments.join('')}</span>`;
}

function readyChip(ready: boolean): string {
  return ready ? '<span class="chip chip-good">Ready</span>' : '<span class="chip chip-bad">Not ready</span>';
}

function registryOverview(report: ComplianceReport): string {
  const rows = report.registries.map((registry, index) => {
    const t = registry.totals;
    const attention = registry.connectedRegistries.filter(needsAttention).length;
    return `<tr><th scope="row"><a href="#registry-${index}">${esc(registry.registry)}</a></th><td>${readyChip(registry.readiness.ready)}</td><td class="num"><span class="cov">${meter(t)}<span class="pct">${esc(formatPercent(t.coveragePercent))}</span></span></td><td class="num">${esc(formatInteger(t.eligible))}</td><td class="num">${esc(formatInteger(t.streamable))}</td><td class="num">${esc(formatInteger(t.missing))}</td><td class="num">${esc(formatInteger(t.failed))}</td><td class="num">${esc(formatInteger(t.inProgress))}</td><td class="num">${esc(formatInteger(t.repositoriesWithoutPolicy))}</td><td class="num">${esc(`${attention} / ${registry.connectedRegistries.length}`)}</td></tr>`;
  });
  return `<section class="card" aria-labelledby="overview-h"><h2 id="overview-h">Registries</h2>
<div class="table-wrap"><table><caption class="sr-only">Coverage and counts per registry</caption>
<thead><tr><th scope="col">Registry</th><th scope="col">Readiness</th><th scope="col" class="num">Coverage</th><th scope="col" class="num">Eligible</th><th scope="col" class="num">Streamable</th><th scope="col" class="num">Missing</th><th scope="col" class="num">Failed</th><th scope="col" class="num">In progress</th><th scope="col" class="num">Policy off</th><th scope="col" class="num">Connected issues</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div></section>`;
}

function failuresTable(
  failures: ReadonlyArray<{
    errorCode: string;
    count: number;
    remediation: string;
    examples: readonly string[];
    registries?: readonly string[];
  }>,
  caption: string,
): string {
  const withRegistries = failures.some((failure) => failure.registries !== undefined);
  const rows = failures.map(
    (failure) =>
      `<tr><th scope="row"><code>${esc(failure.errorCode)}</code></th><td class="num">${esc(formatInteger(failure.count))}</td>${withRegistries ? `<td>${esc((failure.registries ?? []).join(', '))}</td>` : ''}<td class="remedy">${esc(failure.remediation)}</td><td class="examples">${failure.examples
        .slice(0, 3)
        .map((example) => `<code title="${esc(example)}">${esc(ellipsize(example, 48))}</code>`)
        .join('<br>')}</td></tr>`,
  );
  return `<div class="table-wrap"><table class="failures"><caption class="sr-only">${esc(caption)}</caption>
<thead><tr><th scope="col">Error code</th><th scope="col" class="num">Images</th>${withRegistries ? '<th scope="col">Registries</th>' : ''}<th scope="col">What to do</th><th scope="col">Examples</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div>`;
}

function topFailuresSection(report: ComplianceReport): string {
  const failures = mergedTopFailures(report, 10);
  const content =
    failures.length === 0
      ? '<p class="empty">No failed conversions. Nothing to fix.</p>'
      : failuresTable(failures, 'Most frequent conversion failures and their remediation');
  return `<section class="card" aria-labelledby="failures-h"><h2 id="failures-h">Top failures</h2>${content}</section>`;
}

function checklistItem(label: string, state: 'pass' | 'fail' | 'unknown', detail: string): string {
  const word = state === 'pass' ? 'Yes' : state === 'fail' ? 'No' : 'Unknown';
  return `<li class="check-${state}">${checkIcon(state)}<span><strong>${esc(label)}</strong><span class="check-word"> — ${esc(word)}</span><br><span class="muted">${esc(detail)}</span></span></li>`;
}

function tri(value: boolean | undefined, passWhen: boolean): 'pass' | 'fail' | 'unknown' {
  return value === undefined ? 'unknown' : value === passWhen ? 'pass' : 'fail';
}

/**
 * Stored policies versus the DEFAULT_POLICY setting (issue #18 § 5): a repository whose stored policy is `off` is
 * governed by a policy; one no stored policy matches follows the app setting, which nobody may have meant for it.
 */
function policyChecklistItem(t: RegistryReport['totals']): string {
  const label = 'Every repository has a stored policy';
  const off = t.repositoriesWithoutPolicy > 0 ? ` ${t.repositoriesWithoutPolicy} of them are off.` : '';
  const onDefault = t.repositoriesOnDefaultPolicy;
  if (onDefault === undefined)
    return checklistItem(label, 'unknown', 'The last audit ran before this was counted; the next one tells.');
  if (onDefault === 0)
    return checklistItem(label, 'pass', `All ${t.repositories} repositories are governed by a stored policy.${off}`);
  return checklistItem(
    label,
    'fail',
    `${onDefault} of ${t.repositories} repositories have no stored policy and follow DEFAULT_POLICY (the app setting).`,
  );
}

function readinessChecklist(registry: RegistryReport, headingId: string): string {
  const r = registry.readiness;
  const t = registry.totals;
  const items = [
    checklistItem('Premium SKU', tri(r.premium, true), 'Artifact streaming needs a Premium registry.'),
    checklistItem(
      'No customer-managed key',
      tri(r.customerManagedKey, false),
      'ACR does not stream images of registries encrypted with a customer-managed key.',
    ),
    checklistItem(
      'Push events reach this app',
      tri(r.eventSubscription, true),
      'An Event Grid subscription delivers ImagePushed, so new images convert at once.',
    ),
    policyChecklistItem(t),
    checklistItem(
      'Ready for streaming',
      r.ready ? 'pass' : 'fail',
      r.ready ? 'Conversions can start.' : 'Conversions cannot start until the items above are fixed.',
    ),
  ];
  const notes =
    r.notes.length > 0 ? `<ul class="notes">${r.notes.map((note) => `<li>${esc(note)}</li>`).join('')}</ul>` : '';
  return `<div class="panel"><h3 id="${headingId}">Readiness checklist</h3><ul class="checklist" aria-labelledby="${headingId}">${items.join('')}</ul>${notes}</div>`;
}

function stateChip(state: ConnectedRegistryReport['state']): string {
  return `<span class="chip" style="--chip:${stateColours[state]}"><span class="dot" aria-hidden="true"></span>${esc(connectedStateLabels[state])}</span>`;
}

/** The donut and chips (beside the checklist) and the table of those needing attention (full width, below). */
function connectedPanel(registry: RegistryReport, index: number): { summary: string; table: string } {
  const connected = registry.connectedRegistries;
  const headingId = `cr-h-${index}`;
  if (connected.length === 0)
    return {
      summary: `<div class="panel"><h3 id="${headingId}">Connected registries</h3><p class="empty">No connected registries.</p></div>`,
      table: '',
    };
  const chips = connected
    .map((item) => `<li>${stateChip(item.state)}<span class="cr-name">${esc(item.name)}</span></li>`)
    .join('');
  const attention = connected.filter(needsAttention);
  const summary = `<div class="panel"><h3 id="${headingId}">Connected registries</h3><div class="cr-summary">${statusDonut(`cr-donut-${index}`, registry.registry, connected)}<ul class="chips" aria-labelledby="${headingId}">${chips}</ul></div>${attention.length === 0 ? '<p class="empty">All connected registries are healthy or syncing.</p>' : ''}</div>`;
  if (attention.length === 0) return { summary, table: '' };
  const rows = attention.map(
    (item) =>
      `<tr><th scope="row">${esc(item.name)}${item.mode ? `<br><span class="muted">${esc(item.mode)}</span>` : ''}</th><td>${stateChip(item.state)}</td><td class="when">${esc(formatTime(item.lastActivityTime))}</td><td class="when">${esc(formatTime(item.lastSyncTime))}</td><td class="remedy">${item.reason ? `${esc(item.reason)}<br>` : ''}${esc(item.remediation ?? '')}</td></tr>`,
  );
  const table = `<div class="panel"><h3>Connected registries needing attention</h3><div class="table-wrap"><table><caption class="sr-only">Connected registries of ${esc(registry.registry)} that need attention</caption><thead><tr><th scope="col">Name</th><th scope="col">State</th><th scope="col">Last activity</th><th scope="col">Last sync</th><th scope="col">What to do</th></tr></thead><tbody>${rows.join('')}</tbody></table></div></div>`;
  return { summary, table };
}

/** Repositories whose ACR switch drifted from the policy (issue #15): open first; nothing when there are none. */
function driftPanel(registry: RegistryReport): string {
  if (registry.drift.length === 0) return '';
  const rows = registry.drift.map(
    (entry) =>
      `<tr><th scope="row">${esc(entry.repository)}</th><td><code>${esc(entry.policyScope)}</code></td><td>${esc(onOff(entry.expected))}</td><td>${esc(onOff(entry.actual))}</td><td>${entry.state === 'open' ? '<strong>not repaired</strong>' : `repaired <span class="when">${esc(formatTime(entry.closedAt))}</span>`}</td><td class="when">${esc(formatTime(entry.foundAt))}<br><span class="muted">${esc(entry.foundBy === 'audit' ? 'by the audit' : 'by a policy change')}</span></td><td class="remedy">${esc(entry.message)}</td></tr>`,
  );
  return `<div class="panel"><h3>ACR's switch drifted from the policy</h3><div class="table-wrap"><table><caption class="sr-only">Repositories of ${esc(registry.registry)} whose ACR streaming switch drifted from their policy</caption><thead><tr><th scope="col">Repository</th><th scope="col">Policy scope</th><th scope="col">Policy wants</th><th scope="col">ACR reports</th><th scope="col">State</th><th scope="col">Found</th><th scope="col">What happened</th></tr></thead><tbody>${rows.join('')}</tbody></table></div></div>`;
}

const pullWords: Record<ConsumersSection['clusters'][number]['pull'], string> = {
  granted: 'pulls',
  missing: 'no pull',
  unknown: 'unknown',
};

/**
 * Who streams (issue #20): the capacity chart, what is and is not known, what could not be read, and a row per node
 * pool of every cluster in scope (a cluster without pull is one row, with the command that attaches it).
 */
function consumersPanel(registry: RegistryReport, index: number): string {
  const consumers = registry.consumers;
  if (consumers === undefined) return '';
  const headingId = `consumers-h-${index}`;
  const notes = `<ul class="notes">${consumers.notes.map((note) => `<li>${esc(note)}</li>`).join('')}</ul>`;
  if (!consumers.configured)
    return `<div class="panel"><h3 id="${headingId}">Consumers (AKS clusters)</h3>${notes}</div>`;
  const unreadable =
    consumers.unreadable.length > 0
      ? `<div class="banner banner-warn"><strong>Could not read:</strong><ul>${consumers.unreadable.map((item) => `<li>${esc(item)}</li>`).join('')}</ul></div>`
      : '';
  const c = consumers.capacity;
  // One <tbody> per cluster: its name heads the group (scope="rowgroup"), whatever the number of its pools.
  const groups = consumers.clusters.map((cluster) => {
    const pools = cluster.pull === 'missing' || cluster.pools.length === 0 ? [] : cluster.pools;
    const span = Math.max(1, pools.length);
    // A cluster-level problem (no pull, pull unknown, no replica in its region) with its fix, in words and <code>.
    const problem = cluster.reason
      ? `${esc(cluster.reason)}${cluster.fix ? `<br><code>${esc(cluster.fix)}</code>` : ''}`
      : '';
    const where = `${cluster.resourceGroup} · ${cluster.location}${cluster.kubernetesVersion ? ` · ${cluster.kubernetesVersion}` : ''}`;
    const head = `<th scope="rowgroup" rowspan="${span}">${esc(cluster.name)}<br><span class="muted">${esc(where)}</span></th><td rowspan="${span}">${cluster.pull === 'missing' ? '<span class="chip chip-bad">no pull</span>' : esc(pullWords[cluster.pull])}</td>`;
    if (pools.length === 0)
      return [
        `<tr>${head}<td colspan="3" class="muted">${esc(cluster.pull === 'missing' ? 'Not a consumer: it cannot pull from this registry.' : 'No node pools.')}</td><td class="remedy">${problem || '—'}</td></tr>`,
      ];
    return pools.map((pool, poolIndex) => {
      const reasons = pool.reasons
        .map((reason) => `${esc(reason.message)}<br><code>${esc(reason.fix)}</code>`)
        .join('<br>');
      const stream = pool.canStream
        ? '<span class="chip chip-good">can stream</span>'
        : '<span class="chip chip-bad">cannot stream</span>';
      const describePool = [pool.mode, pool.vmSize, pool.osSku, pool.kubernetesVersion].filter(Boolean).join(' · ');
      return `<tr>${poolIndex === 0 ? head : ''}<td>${esc(pool.name)}${describePool ? `<br><span class="muted">${esc(describePool)}</span>` : ''}</td><td class="num">${esc(formatInteger(pool.nodes))}</td><td>${stream}</td><td class="remedy">${[poolIndex === 0 ? problem : '', reasons].filter(Boolean).join('<br>') || '—'}</td></tr>`;
    });
  });
  const table =
    consumers.clusters.length === 0
      ? '<p class="empty">No cluster found in scope.</p>'
      : `<div class="table-wrap"><table class="consumers"><caption class="sr-only">AKS clusters in scope of ${esc(registry.registry)}: pull, and whether each node pool can stream, with the fix</caption><thead><tr><th scope="col">Cluster</th><th scope="col">Pull</th><th scope="col">Node pool</th><th scope="col" class="num">Nodes</th><th scope="col">Streaming</th><th scope="col">Why not · fix</th></tr></thead>${groups.map((rows) => `<tbody>${rows.join('')}</tbody>`).join('\n')}</table></div>`;
  return `<div class="panel"><h3 id="${headingId}">Consumers (AKS clusters)</h3>
<p class="muted small">Scope: ${consumers.scope.map((entry) => `<code>${esc(entry)}</code>`).join(', ')} · <strong>${esc(formatInteger(c.streamingNodes))}</strong> of ${esc(formatInteger(c.nodes))} nodes (${esc(formatPercent(c.percent))}) of the clusters that pull are in pools that can stream.</p>
${unreadable}
${capacityBars(`capacity-${index}`, registry.registry, consumers.clusters)}<ul class="legend" aria-label="Bar colours"><li><span class="swatch" style="background:${palette.streamable}"></span>Nodes in pools that can stream</li><li><span class="swatch" style="background:${palette.failed}"></span>Nodes in pools that cannot</li></ul>
${table}
${notes}</div>`;
}

function repositoryTable(registry: RegistryReport): string {
  const sorted = repositoriesForChart(registry.repositories, repositoryTableLimit);
  const more = registry.repositories.length - sorted.length;
  const rows = sorted.map(
    (repo) =>
      `<tr><th scope="row">${esc(repo.repository)}</th><td><code>${esc(repo.policyScope)}</code></td><td>${esc(repo.mode)}</td><td class="num"><span class="cov">${meter(repo)}<span class="pct">${esc(repo.eligible > 0 ? formatPercent(repo.coveragePercent) : 'n/a')}</span></span></td><td class="num">${esc(formatInteger(repo.eligible))}</td><td class="num">${esc(formatInteger(repo.streamable))}</td><td class="num">${esc(formatInteger(repo.missing))}</td><td class="num">${esc(formatInteger(repo.failed))}</td><td class="num">${esc(formatInteger(repo.inProgress))}</td><td class="num">${esc(formatInteger(repo.ineligible))}</td></tr>`,
  );
  return `<div class="table-wrap"><table class="repos"><caption class="sr-only">Coverage per repository of ${esc(registry.registry)}, lowest first</caption>
<thead><tr><th scope="col">Repository</th><th scope="col">Policy scope</th><th scope="col">Mode</th><th scope="col" class="num">Coverage</th><th scope="col" class="num">Eligible</th><th scope="col" class="num">Streamable</th><th scope="col" class="num">Missing</th><th scope="col" class="num">Failed</th><th scope="col" class="num">In progress</th><th scope="col" class="num">Ineligible</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div>${more > 0 ? `<p class="muted">${esc(formatInteger(more))} more repositories are in the CSV and JSON report.</p>` : ''}`;
}

const legend = `<ul class="legend" aria-label="Bar colours"><li><span class="swatch" style="background:${palette.streamable}"></span>Streamable</li><li><span class="swatch" style="background:${palette.inProgress}"></span>In progress</li><li><span class="swatch" style="background:${palette.failed}"></span>Failed</li><li><span class="swatch" style="background:${palette.missing}"></span>Missing</li></ul>`;

function registrySection(registry: RegistryReport, index: number, options: HtmlOptions): string {
  const t = registry.totals;
  const shown = Math.min(registry.repositories.length, 15);
  const audit = registry.audit;
  const auditLine =
    audit === undefined
      ? '<p class="banner banner-warn">No audit has run for this registry yet; the figures are empty until one does.</p>'
      : audit.complete
        ? `<p class="muted">Figures from audit run <code>${esc(audit.runId)}</code>, ${esc(formatTime(audit.startedAt))} to ${esc(formatTime(audit.completedAt))}.</p>`
        : `<p class="banner banner-warn">The last audit (<code>${esc(audit.runId)}</code>, started ${esc(formatTime(audit.startedAt))}) did not complete: the figures may be partial.</p>`;
  const connected = connectedPanel(registry, index);
  const failures =
    registry.topFailures.length > 0
      ? failuresTable(registry.topFailures, `Conversion failures in ${registry.registry}`)
      : '<p class="empty">No failed conversions.</p>';
  return `<section class="card registry" id="registry-${index}" aria-labelledby="registry-h-${index}">
<div class="registry-head"><div><h2 id="registry-h-${index}">${esc(registry.registry)}</h2><p class="muted"><code>${esc(registry.loginServer)}</code></p></div><div class="registry-kpis">${readyChip(registry.readiness.ready)}<span class="kpi"><strong>${esc(formatPercent(t.coveragePercent))}</strong> coverage</span><span class="kpi"><strong>${esc(formatInteger(t.missing))}</strong> missing</span><span class="kpi"><strong>${esc(formatInteger(t.failed))}</strong> failed</span><span class="kpi"><strong>${esc(formatInteger(t.inProgress))}</strong> in progress</span></div></div>
${auditLine}
<div class="grid-2">
<div class="panel"><h3>Coverage per repository</h3><p class="muted small">${registry.repositories.length > shown ? `The ${shown} repositories with the lowest coverage of ${esc(formatInteger(registry.repositories.length))}.` : 'Share of eligible images in each state, lowest coverage first.'}</p>${coverageBars(`bars-${index}`, registry.registry, registry.repositories)}${legend}</div>
<div class="panel"><h3>Coverage trend</h3>${
    registry.trend.length < 2
      ? `<p class="muted">${esc(trendTooShort(registry.trend))}</p>`
      : `<p class="muted small">Streamable share of eligible images at each audit run (last ${Math.min(30, registry.trend.length)}).</p>${trendChart(`trend-${index}`, registry.registry, registry.trend)}`
  }</div>
</div>
<div class="grid-2">
${connected.summary}
${readinessChecklist(registry, `ready-h-${index}`)}
</div>
${connected.table}
${driftPanel(registry)}
${consumersPanel(registry, index)}
<div class="panel"><h3>Failures</h3>${failures}</div>
${notStreamingPanel(registry, options)}
<details class="panel" open><summary><h3>Repositories</h3></summary>${repositoryTable(registry)}</details>
</section>`;
}

function footer(report: ComplianceReport): string {
  return `<footer><p>Generated by ${esc(report.generator.name)} ${esc(report.generator.version)} · schema version ${esc(report.schemaVersion)} · report <code>${esc(report.id)}</code>.</p><p>The same figures are in report.json (the data), report.csv (one row per image) and report.md (summary).</p></footer>`;
}

const stylesheet = `
:root{--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#f6f8fa;--card:#fff;--accent:#0969da;--good:${palette.streamable};--warn:#9a6700;--bad:${palette.failed};
font-family:-apple-system,BlinkMacSystemFont,"Segoe UI","Noto Sans",Helvetica,Arial,sans-serif;font-size:15px;line-height:1.5;color:var(--ink);background:var(--bg)}
*{box-sizing:border-box}
body{margin:0}
a{color:var(--accent)}
code{font-family:ui-monospace,SFMono-Regular,"SF Mono",Menlo,Consolas,"Liberation Mono",monospace;font-size:.86em;background:#eff2f5;border-radius:4px;padding:.05em .35em;overflow-wrap:anywhere}
.masthead{background:linear-gradient(135deg,#0b2e59 0%,#0f4c8a 55%,#1769c2 100%);color:#fff;padding:28px 24px 64px}
.masthead-inner{max-width:1180px;margin:0 auto;display:flex;gap:24px;align-items:center;justify-content:space-between}
.masthead h1{margin:.1em 0 .2em;font-size:2rem;line-height:1.2;font-weight:650;letter-spacing:-.01em}
.masthead .eyebrow{margin:0;text-transform:uppercase;letter-spacing:.08em;font-size:.75rem;opacity:.85}
.masthead .meta{margin:0;opacity:.9}
.masthead code{background:rgba(255,255,255,.16);color:#fff}
.masthead nav ul{list-style:none;display:flex;flex-wrap:wrap;gap:8px;margin:14px 0 0;padding:0}
.masthead nav a{display:inline-block;color:#fff;text-decoration:none;border:1px solid rgba(255,255,255,.45);border-radius:999px;padding:2px 12px;font-size:.85rem}
.masthead nav a:hover,.masthead nav a:focus{background:rgba(255,255,255,.15)}
.gauge{width:132px;height:132px;display:block}
.gauge text{fill:#fff}
.gauge-value{font-size:22px;font-weight:700}
.gauge-label{font-size:11px;opacity:.85}
main{max-width:1180px;margin:-40px auto 0;padding:0 24px 24px;display:flex;flex-direction:column;gap:20px}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:14px}
.tile{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px;border-top:4px solid var(--line);box-shadow:0 1px 2px rgba(31,35,40,.06)}
.tile p{margin:0}
.tile-label{font-size:.78rem;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);font-weight:600}
.tile-value{font-size:1.9rem;font-weight:700;line-height:1.25;font-variant-numeric:tabular-nums}
.tile-note{font-size:.82rem;color:var(--muted)}
.tone-good{border-top-color:var(--good)}.tone-good .tile-value{color:var(--good)}
.tone-warn{border-top-color:#d4a72c}.tone-warn .tile-value{color:var(--warn)}
.tone-bad{border-top-color:var(--bad)}.tone-bad .tile-value{color:var(--bad)}
.tone-info{border-top-color:var(--accent)}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:20px 22px;box-shadow:0 1px 3px rgba(31,35,40,.06)}
.card h2{margin:0 0 12px;font-size:1.3rem;line-height:1.3}
.panel{min-width:0}
.panel h3,details.panel summary h3{margin:14px 0 4px;font-size:1rem}
details.panel summary{cursor:pointer;list-style-position:inside}
details.panel summary h3{display:inline}
.grid-2{display:grid;grid-template-columns:repeat(auto-fit,minmax(380px,1fr));gap:8px 28px}
.registry-head{display:flex;flex-wrap:wrap;gap:12px;justify-content:space-between;align-items:flex-start;border-bottom:1px solid var(--line);padding-bottom:10px}
.registry-head h2{margin:0}
.registry-head p{margin:2px 0 0}
.registry-kpis{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center}
.kpi{color:var(--muted);font-size:.9rem}.kpi strong{color:var(--ink);font-size:1.05rem;font-variant-numeric:tabular-nums}
.muted{color:var(--muted)}.small{font-size:.85rem;margin:0 0 6px}
.empty{color:var(--muted);font-style:italic}
.banner{border-radius:8px;padding:8px 12px}
.banner-warn{background:#fff8c5;border:1px solid #d4a72c;color:#4d2d00}
.chart{width:100%;height:auto;display:block;max-width:640px}
.chart text{font-size:13px;fill:var(--ink)}
.chart .label{font-size:13px}
.chart .value{font-size:13px;font-weight:600}
.chart .muted,.chart tspan.muted{fill:var(--muted);font-weight:400}
.chart .tick{font-size:12px;fill:var(--muted)}
.chart .axis-title{font-size:11px;fill:var(--muted);letter-spacing:.04em;text-transform:uppercase}
.legend,.chips{list-style:none;margin:6px 0 0;padding:0;display:flex;flex-wrap:wrap;gap:6px 14px;font-size:.82rem;color:var(--muted)}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:baseline}
.cr-summary{display:flex;gap:18px;align-items:center;flex-wrap:wrap}
.donut{width:120px;height:120px;flex:none}
.donut-value{font-size:26px;font-weight:700;fill:var(--ink)}
.donut-label{font-size:11px;fill:var(--muted)}
.chips{flex-direction:column;gap:6px;color:var(--ink)}
.chips li{display:flex;gap:8px;align-items:center}
.cr-name{font-weight:600;overflow-wrap:anywhere}
.chip{--chip:var(--muted);display:inline-flex;align-items:center;gap:6px;border:1px solid var(--chip);color:var(--chip);background:#fff;border-radius:999px;padding:0 10px;font-size:.78rem;font-weight:600;white-space:nowrap;line-height:1.7}
.chip .dot{width:8px;height:8px;border-radius:50%;background:var(--chip)}
.chip-good{--chip:var(--good);background:#dafbe1}
.chip-bad{--chip:var(--bad);background:#ffebe9}
.checklist{list-style:none;margin:6px 0 0;padding:0;display:flex;flex-direction:column;gap:10px}
.checklist li{display:flex;gap:10px;align-items:flex-start}
.checklist .muted{font-size:.85rem}
.check-word{color:var(--muted);font-weight:400}
.icon{width:18px;height:18px;flex:none;margin-top:3px}
.notes{margin:10px 0 0;padding-left:20px;font-size:.88rem;color:var(--muted)}
.table-wrap{overflow-x:auto;margin-top:6px}
table{border-collapse:collapse;width:100%;font-size:.88rem}
th,td{text-align:left;padding:7px 10px;border-bottom:1px solid var(--line);vertical-align:top}
thead th{font-size:.72rem;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);background:var(--bg);border-bottom:1px solid var(--line);vertical-align:bottom}
tbody th{font-weight:600;overflow-wrap:break-word;min-width:9em}
.failures tbody th{min-width:0}.failures tbody th code{white-space:nowrap}
tbody tr:hover{background:#f6f8fa}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.cov{display:inline-flex;align-items:center;gap:8px;justify-content:flex-end}
.meter{display:inline-flex;width:64px;height:6px;border-radius:3px;background:${palette.track};overflow:hidden;vertical-align:middle}
.meter span{display:block;height:100%}
.pct{min-width:3.4em;text-align:right}
.chart .halo{paint-order:stroke;stroke:#fff;stroke-width:4px;stroke-linejoin:round}
.remedy{max-width:520px}
.consumers tbody th{border-right:1px solid var(--line)}.consumers tbody th .muted{font-weight:400}
.banner ul{margin:4px 0 0;padding-left:20px}
.when{white-space:nowrap}
.examples code{white-space:nowrap}
.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}
footer{max-width:1180px;margin:0 auto;padding:8px 24px 32px;color:var(--muted);font-size:.82rem}
footer p{margin:2px 0}
@media (max-width:720px){
.masthead{padding:20px 16px 56px}.masthead-inner{flex-direction:column;align-items:flex-start}
main{padding:0 12px 16px}.card{padding:16px 14px}.grid-2{grid-template-columns:1fr}.tile-value{font-size:1.5rem}
}
@media print{
:root{background:#fff;font-size:11pt}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
.masthead{padding:16px 0;background:#0b2e59}
.masthead nav{display:none}
main{margin:12px 0 0;padding:0;max-width:none}
.card,.tile{box-shadow:none;break-inside:avoid}
.card.registry{break-inside:auto;break-before:page}
.panel,tr{break-inside:avoid}
tbody tr:hover{background:none}
a{color:inherit;text-decoration:none}
@page{margin:14mm}
}
`;

/** A trend needs two points (issue #18 § 5): with fewer, say what there is and when the trend appears. */
export function trendTooShort(trend: RegistryReport['trend']): string {
  const only = trend[0];
  return only === undefined
    ? 'No audit has completed yet: the trend starts with the first (AUDIT_SCHEDULE, or POST /api/audits).'
    : `One audit so far (${formatTime(only.time)}, coverage ${formatPercent(only.coveragePercent)}): the trend appears after the next one.`;
}
