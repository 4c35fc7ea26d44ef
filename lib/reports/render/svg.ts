import type {
  ConnectedRegistryReport,
  ConnectedRegistryState,
  ConsumersSection,
  RegistryReport,
  RepositoryCoverage,
} from '../model.js';
import { connectedStateLabels } from '../summary.js';
import { esc, n } from './html-escape.js';
import { ellipsize, formatInteger, formatPercent, formatShortDate, formatTime } from './text.js';

/**
 * The report's charts as inline SVG, drawn here without libraries. Each chart is an `img` with a title and a
 * description (screen readers read the figures; the tables beside them carry the same data), sized by its
 * viewBox so it scales with the page. No `xmlns`, no links, no scripts: inline SVG in HTML needs none of them.
 */

export const palette = {
  streamable: '#1a7f37',
  inProgress: '#0969da',
  failed: '#cf222e',
  missing: '#d4a72c',
  track: '#eaeef2',
  grid: '#d8dee4',
  axis: '#57606a',
  line: '#0969da',
} as const;

export const stateColours: Record<ConnectedRegistryState, string> = {
  healthy: '#1a7f37',
  syncing: '#0969da',
  stale: '#bf8700',
  offline: '#cf222e',
  unhealthy: '#a40e26',
  inactive: '#6e7781',
};

function open(
  id: string,
  width: number,
  height: number,
  title: string,
  description: string,
  className = 'chart',
): string {
  return (
    `<svg class="${className}" viewBox="0 0 ${n(width)} ${n(height)}" preserveAspectRatio="xMinYMin meet" role="img" aria-labelledby="${esc(id)}-t ${esc(id)}-d" focusable="false">` +
    `<title id="${esc(id)}-t">${esc(title)}</title><desc id="${esc(id)}-d">${esc(description)}</desc>`
  );
}

/** Repositories the bar chart shows at most; the lowest coverage first, since those need attention. */
export const barChartLimit = 15;

export function repositoriesForChart(
  repositories: readonly RepositoryCoverage[],
  limit = barChartLimit,
): RepositoryCoverage[] {
  return [...repositories]
    .sort(
      (a, b) =>
        Number(b.eligible > 0) - Number(a.eligible > 0) ||
        a.coveragePercent - b.coveragePercent ||
        b.missing + b.failed - (a.missing + a.failed) ||
        a.repository.localeCompare(b.repository),
    )
    .slice(0, limit);
}

/** Coverage per repository: one stacked horizontal bar each (streamable, in progress, failed, missing of eligible). */
export function coverageBars(id: string, registry: string, repositories: readonly RepositoryCoverage[]): string {
  const rows = repositoriesForChart(repositories);
  const width = 500;
  const labelWidth = 170;
  const barWidth = 226;
  const rowHeight = 28;
  const top = 6;
  const height = top + Math.max(1, rows.length) * rowHeight + 4;
  const description =
    rows.length === 0
      ? 'No repositories.'
      : rows
          .map(
            (row) =>
              `${row.repository}: ${row.eligible > 0 ? `${formatPercent(row.coveragePercent)} (${row.streamable} of ${row.eligible} eligible streamable, ${row.missing} missing, ${row.failed} failed, ${row.inProgress} in progress)` : 'nothing eligible'}`,
          )
          .join('; ');
  const parts = [open(id, width, height, `Streaming coverage per repository in ${registry}`, description)];
  if (rows.length === 0)
    parts.push(
      `<text x="${width / 2}" y="${top + rowHeight / 2}" text-anchor="middle" dominant-baseline="middle" class="muted">No repositories</text>`,
    );
  rows.forEach((row, index) => {
    const y = top + index * rowHeight;
    const barY = y + 8;
    const mid = y + rowHeight / 2;
    const denominator = Math.max(row.eligible, row.streamable + row.inProgress + row.failed + row.missing);
    const tooltip =
      row.eligible > 0
        ? `${row.repository}: ${formatPercent(row.coveragePercent)} streamable (${row.streamable}/${row.eligible}); ${row.missing} missing, ${row.failed} failed, ${row.inProgress} in progress`
        : `${row.repository}: nothing eligible (${row.ineligible} ineligible)`;
    parts.push(`<g><title>${esc(tooltip)}</title>`);
    parts.push(
      `<text x="${labelWidth - 10}" y="${n(mid)}" text-anchor="end" dominant-baseline="middle" class="label">${esc(ellipsize(row.repository, 24))}</text>`,
    );
    parts.push(`<rect x="${labelWidth}" y="${barY}" width="${barWidth}" height="14" rx="3" fill="${palette.track}"/>`);
    let x = labelWidth;
    if (denominator > 0) {
      for (const [count, colour] of [
        [row.streamable, palette.streamable],
        [row.inProgress, palette.inProgress],
        [row.failed, palette.failed],
        [row.missing, palette.missing],
      ] as const) {
        const segment = (count / denominator) * barWidth;
        if (segment <= 0) continue;
        parts.push(`<rect x="${n(x)}" y="${barY}" width="${n(segment)}" height="14" fill="${colour}"/>`);
        x += segment;
      }
    }
    const value = row.eligible > 0 ? formatPercent(row.coveragePercent) : 'n/a';
    const detail =
      row.eligible > 0
        ? `<tspan class="muted" dx="6">${esc(`${formatInteger(row.streamable)}/${formatInteger(row.eligible)}`)}</tspan>`
        : '';
    parts.push(
      `<text x="${labelWidth + barWidth + 10}" y="${n(mid)}" dominant-baseline="middle" class="value">${esc(value)}${detail}</text></g>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Coverage of the last audit runs (oldest first) as a line over a 0–100 % axis, with dated x labels. */
export function trendChart(id: string, registry: string, trend: RegistryReport['trend']): string {
  const points = trend.slice(-30);
  const width = 500;
  const height = 236;
  const left = 50;
  const right = 14;
  const top = 12;
  const bottom = 50;
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const xOf = (index: number): number =>
    points.length <= 1 ? left + plotWidth / 2 : left + (index / (points.length - 1)) * plotWidth;
  const yOf = (percent: number): number => top + (1 - Math.min(100, Math.max(0, percent)) / 100) * plotHeight;
  const first = points[0];
  const last = points[points.length - 1];
  const description =
    first === undefined || last === undefined
      ? 'No audit runs yet.'
      : `${points.length} audit runs from ${formatTime(first.time)} to ${formatTime(last.time)}; coverage went from ${formatPercent(first.coveragePercent)} to ${formatPercent(last.coveragePercent)}, lowest ${formatPercent(Math.min(...points.map((p) => p.coveragePercent)))}, highest ${formatPercent(Math.max(...points.map((p) => p.coveragePercent)))}.`;
  const parts = [
    open(id, width, height, `Coverage trend of ${registry} over the last ${points.length} audit runs`, description),
  ];
  for (const tick of [0, 25, 50, 75, 100]) {
    const y = yOf(tick);
    parts.push(
      `<line x1="${left}" x2="${width - right}" y1="${n(y)}" y2="${n(y)}" stroke="${palette.grid}" stroke-width="1"${tick === 0 ? '' : ' stroke-dasharray="3 4"'}/>`,
    );
    parts.push(
      `<text x="${left - 8}" y="${n(y)}" text-anchor="end" dominant-baseline="middle" class="tick">${tick}%</text>`,
    );
  }
  parts.push(
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotHeight}" stroke="${palette.axis}" stroke-width="1"/>`,
  );
  parts.push(
    `<text class="axis-title" transform="translate(12 ${n(top + plotHeight / 2)}) rotate(-90)" text-anchor="middle">Coverage</text>`,
  );
  parts.push(
    `<text class="axis-title" x="${n(left + plotWidth / 2)}" y="${height - 6}" text-anchor="middle">Audit run (UTC)</text>`,
  );
  if (first === undefined || last === undefined) {
    parts.push(
      `<text x="${n(left + plotWidth / 2)}" y="${n(top + plotHeight / 2)}" text-anchor="middle" class="muted">No audit runs yet</text></svg>`,
    );
    return parts.join('');
  }
  const labelCount = Math.min(points.length, 6);
  const labelled = new Set(
    Array.from({ length: labelCount }, (_, i) =>
      labelCount <= 1 ? points.length - 1 : Math.round((i * (points.length - 1)) / (labelCount - 1)),
    ),
  );
  for (const index of labelled) {
    const point = points[index];
    if (point === undefined) continue;
    const x = xOf(index);
    parts.push(
      `<line x1="${n(x)}" x2="${n(x)}" y1="${top + plotHeight}" y2="${top + plotHeight + 5}" stroke="${palette.axis}" stroke-width="1"/>`,
    );
    // The outermost labels align inwards so they never run off the chart.
    const anchor =
      labelled.size > 1 && index === 0 ? 'start' : labelled.size > 1 && index === points.length - 1 ? 'end' : 'middle';
    parts.push(
      `<text x="${n(x)}" y="${top + plotHeight + 18}" text-anchor="${anchor}" class="tick">${esc(formatShortDate(point.time))}</text>`,
    );
  }
  const coordinates = points.map((point, index) => `${n(xOf(index))},${n(yOf(point.coveragePercent))}`);
  if (points.length > 1) {
    parts.push(
      `<polygon points="${n(xOf(0))},${n(yOf(0))} ${coordinates.join(' ')} ${n(xOf(points.length - 1))},${n(yOf(0))}" fill="${palette.line}" fill-opacity="0.08"/>`,
    );
    parts.push(
      `<polyline points="${coordinates.join(' ')}" fill="none" stroke="${palette.line}" stroke-width="2.5" stroke-linejoin="round" stroke-linecap="round"/>`,
    );
  }
  points.forEach((point, index) => {
    const isLast = index === points.length - 1;
    parts.push(
      `<circle cx="${n(xOf(index))}" cy="${n(yOf(point.coveragePercent))}" r="${isLast ? 4.5 : 3}" fill="${isLast ? palette.line : '#ffffff'}" stroke="${palette.line}" stroke-width="1.5"><title>${esc(`${formatTime(point.time)}: ${formatPercent(point.coveragePercent)} (${point.streamable} of ${point.eligible} eligible streamable)`)}</title></circle>`,
    );
  });
  const lastX = xOf(points.length - 1);
  const lastY = yOf(last.coveragePercent);
  parts.push(
    `<text x="${n(Math.min(lastX, width - right - 4))}" y="${n(lastY > top + 22 ? lastY - 12 : lastY + 20)}" text-anchor="end" class="value halo">${esc(formatPercent(last.coveragePercent))}</text>`,
  );
  parts.push('</svg>');
  return parts.join('');
}

/** A ring showing one fraction (the overall coverage in the page header). */
export function gauge(id: string, percent: number, title: string): string {
  const size = 120;
  const radius = 48;
  const circumference = 2 * Math.PI * radius;
  const filled = (Math.min(100, Math.max(0, percent)) / 100) * circumference;
  const colour = percent >= 95 ? palette.streamable : percent >= 80 ? palette.missing : palette.failed;
  return (
    open(id, size, size, title, `${formatPercent(percent)} of eligible images are streamable.`, 'gauge') +
    `<circle cx="60" cy="60" r="${radius}" fill="none" stroke="rgba(255,255,255,0.25)" stroke-width="12"/>` +
    `<circle cx="60" cy="60" r="${radius}" fill="none" stroke="${colour}" stroke-width="12" stroke-linecap="round" stroke-dasharray="${n(filled)} ${n(circumference)}" transform="rotate(-90 60 60)"/>` +
    `<text x="60" y="58" text-anchor="middle" dominant-baseline="middle" class="gauge-value">${esc(formatPercent(percent))}</text>` +
    `<text x="60" y="80" text-anchor="middle" class="gauge-label">streamable</text></svg>`
  );
}

/** Connected registries by state as a donut, the count in the middle. */
export function statusDonut(id: string, registry: string, connected: readonly ConnectedRegistryReport[]): string {
  const size = 140;
  const radius = 50;
  const circumference = 2 * Math.PI * radius;
  const counts = (Object.keys(stateColours) as ConnectedRegistryState[])
    .map((state) => ({ state, count: connected.filter((item) => item.state === state).length }))
    .filter((entry) => entry.count > 0);
  const description =
    counts.length === 0
      ? 'No connected registries.'
      : counts.map((entry) => `${connectedStateLabels[entry.state]}: ${entry.count}`).join(', ');
  const parts = [open(id, size, size, `Connected registries of ${registry} by state`, description, 'donut')];
  parts.push(`<circle cx="70" cy="70" r="${radius}" fill="none" stroke="${palette.track}" stroke-width="18"/>`);
  let offset = 0;
  for (const entry of counts) {
    const length = (entry.count / connected.length) * circumference;
    // A hairline gap between segments keeps adjacent states apart (and legible in greyscale print).
    const gap = counts.length > 1 ? 1.5 : 0;
    parts.push(
      `<circle cx="70" cy="70" r="${radius}" fill="none" stroke="${stateColours[entry.state]}" stroke-width="18" stroke-dasharray="${n(Math.max(0, length - gap))} ${n(circumference)}" stroke-dashoffset="${n(-offset)}" transform="rotate(-90 70 70)"><title>${esc(`${connectedStateLabels[entry.state]}: ${entry.count}`)}</title></circle>`,
    );
    offset += length;
  }
  parts.push(
    `<text x="70" y="66" text-anchor="middle" dominant-baseline="middle" class="donut-value">${esc(formatInteger(connected.length))}</text>`,
  );
  parts.push(`<text x="70" y="88" text-anchor="middle" class="donut-label">connected</text></svg>`);
  return parts.join('');
}

/** A small status icon (decorative; the text next to it says the same). */
export function checkIcon(state: 'pass' | 'fail' | 'unknown'): string {
  const colour = state === 'pass' ? palette.streamable : state === 'fail' ? palette.failed : '#6e7781';
  const mark =
    state === 'pass'
      ? '<path d="M5 9.5l2.6 2.6L13 6.5" fill="none" stroke="#fff" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/>'
      : state === 'fail'
        ? '<path d="M6 6l6 6M12 6l-6 6" stroke="#fff" stroke-width="2" stroke-linecap="round"/>'
        : '<path d="M9 13v.01M7.2 7.2a1.9 1.9 0 1 1 2.6 1.8c-.5.2-.8.6-.8 1.1v.4" fill="none" stroke="#fff" stroke-width="1.8" stroke-linecap="round"/>';
  return `<svg class="icon" viewBox="0 0 18 18" aria-hidden="true" focusable="false"><circle cx="9" cy="9" r="9" fill="${colour}"/>${mark}</svg>`;
}

/** Clusters the capacity chart shows at most: the biggest first (the section's table lists every one). */
export const capacityChartLimit = 15;

/** The clusters the capacity chart draws: those that pull (or may: pull unknown) and have nodes, biggest first. */
export function clustersForCapacityChart(
  clusters: ConsumersSection['clusters'],
  limit = capacityChartLimit,
): Array<{ name: string; nodes: number; streamingNodes: number }> {
  return clusters
    .filter((cluster) => cluster.pull !== 'missing')
    .map((cluster) => ({
      name: cluster.name,
      nodes: cluster.pools.reduce((sum, pool) => sum + pool.nodes, 0),
      streamingNodes: cluster.pools.reduce((sum, pool) => sum + (pool.canStream ? pool.nodes : 0), 0),
    }))
    .filter((row) => row.nodes > 0)
    .sort((a, b) => b.nodes - a.nodes || a.name.localeCompare(b.name))
    .slice(0, limit);
}

/**
 * Streaming-capable capacity (issue #20): per cluster that pulls from the registry, its nodes in pools that can
 * stream against those in pools that cannot, as one stacked horizontal bar each, scaled to the largest cluster.
 */
export function capacityBars(id: string, registry: string, clusters: ConsumersSection['clusters']): string {
  const rows = clustersForCapacityChart(clusters);
  const width = 500;
  const labelWidth = 150;
  const barWidth = 230;
  const rowHeight = 28;
  const top = 6;
  const height = top + Math.max(1, rows.length) * rowHeight + 4;
  const largest = Math.max(1, ...rows.map((row) => row.nodes));
  const description =
    rows.length === 0
      ? 'No cluster with nodes pulls from the registry.'
      : rows
          .map(
            (row) =>
              `${row.name}: ${row.streamingNodes} of ${row.nodes} nodes in pools that can stream, ${row.nodes - row.streamingNodes} in pools that cannot`,
          )
          .join('; ');
  const parts = [open(id, width, height, `Streaming-capable nodes per cluster pulling from ${registry}`, description)];
  if (rows.length === 0)
    parts.push(
      `<text x="${width / 2}" y="${top + rowHeight / 2}" text-anchor="middle" dominant-baseline="middle" class="muted">No cluster with nodes pulls from ${esc(registry)}</text>`,
    );
  rows.forEach((row, index) => {
    const y = top + index * rowHeight;
    const barY = y + 8;
    const mid = y + rowHeight / 2;
    const capable = (row.streamingNodes / largest) * barWidth;
    const incapable = ((row.nodes - row.streamingNodes) / largest) * barWidth;
    parts.push(
      `<g><title>${esc(`${row.name}: ${row.streamingNodes} of ${row.nodes} nodes can stream`)}</title>`,
      `<text x="${labelWidth - 10}" y="${n(mid)}" text-anchor="end" dominant-baseline="middle" class="label">${esc(ellipsize(row.name, 20))}</text>`,
      `<rect x="${labelWidth}" y="${barY}" width="${barWidth}" height="14" rx="3" fill="${palette.track}"/>`,
    );
    if (capable > 0)
      parts.push(
        `<rect x="${labelWidth}" y="${barY}" width="${n(capable)}" height="14" fill="${palette.streamable}"/>`,
      );
    if (incapable > 0)
      parts.push(
        `<rect x="${n(labelWidth + capable)}" y="${barY}" width="${n(incapable)}" height="14" fill="${palette.failed}"/>`,
      );
    parts.push(
      `<text x="${labelWidth + barWidth + 10}" y="${n(mid)}" dominant-baseline="middle" class="value">${esc(`${formatInteger(row.streamingNodes)}/${formatInteger(row.nodes)}`)}<tspan class="muted" dx="6">nodes</tspan></text></g>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}
