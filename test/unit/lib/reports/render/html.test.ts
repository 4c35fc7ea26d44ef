import { describe, expect, it } from 'vitest';
import type { ComplianceReport } from '../../../../../lib/reports/model.js';
import { reportContentSecurityPolicy, toHtml } from '../../../../../lib/reports/render/html.js';
import { esc } from '../../../../../lib/reports/render/html-escape.js';
import { palette } from '../../../../../lib/reports/render/svg.js';
import { hostileRepository, registries, report } from '../fixture.js';

/** The page with the text between tags removed: what is left is markup, where no URL may appear. */
function markupOnly(html: string): string {
  return html.replace(/<style>[\s\S]*?<\/style>/, '<style></style>').replace(/>[^<]*</g, '><');
}

describe('HTML renderer', () => {
  const html = toHtml(report);

  it('is one self-contained page: no scripts, no external resources, no URLs outside text', () => {
    expect(html.startsWith('<!doctype html>\n<html lang="en">')).toBe(true);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<(link|img|iframe|object|embed|base|form|audio|video|source)\b/i);
    expect(html).not.toMatch(/\b(src|srcset|xlink:href|xmlns|action|formaction|poster|background)=/i);
    expect(html).not.toMatch(/url\(|@import|@font-face/i);
    expect(html).not.toMatch(/\bon[a-z]+=/i);
    const markup = markupOnly(html);
    expect(markup).not.toMatch(/https?:/i);
    expect(
      [...markup.matchAll(/href="([^"]*)"/g)]
        .map((match) => match[1])
        // In-page anchors, and the app's own diagnosis route (issue #20 §2), root-relative without APP_BASE_URL.
        .every(
          (href) => href?.startsWith('#registry-') || /^\/api\/registries\/[a-z0-9]+\/diagnosis\?image=/.test(href!),
        ),
    ).toBe(true);
  });

  it('declares the CSP it is served with, so it holds when opened from disk', () => {
    expect(reportContentSecurityPolicy).toBe("default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="${esc(reportContentSecurityPolicy)}">`);
  });

  it('escapes every name and text: markup in a repository or connected registry stays text', () => {
    expect(html).not.toContain('<script>alert(1)');
    expect(html).not.toContain('<b>0044');
    expect(html).toContain(esc(hostileRepository));
    expect(html).toContain('store-&lt;b&gt;0044&lt;/b&gt;');
    expect(html).toContain('lab-ünïcødé');
    expect(esc(`<a href="x" onclick='y'>&`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;');
  });

  it('shows the repositories whose ACR switch drifted from the policy (issue #15)', () => {
    expect(html).toContain("<h3>ACR's switch drifted from the policy</h3>");
    expect(html).toMatch(
      /<th scope="row">edge\/gateway<\/th><td><code>edge\/\*\*<\/code><\/td><td>on<\/td><td>off<\/td><td><strong>not repaired<\/strong>/,
    );
  });

  it('draws the charts as accessible inline SVG: bars, a 30-point trend, a donut and the gauge', () => {
    const svgs = [...html.matchAll(/<svg class="(chart|donut|gauge)"[^>]*>/g)];
    expect(svgs.every((svg) => svg[0].includes('role="img"') && svg[0].includes('aria-labelledby='))).toBe(true);
    expect(svgs.filter((svg) => svg[1] === 'donut')).toHaveLength(2);
    const trend = /<svg[^>]*aria-labelledby="trend-0-t[^"]*"[\s\S]*?<\/svg>/.exec(html)![0];
    expect(trend).toContain('<title id="trend-0-t">Coverage trend of contosoprod over the last 30 audit runs</title>');
    expect(trend.match(/<circle /g)).toHaveLength(30);
    expect(trend).toContain('>100%</text>');
    expect(trend).toContain('>Oct 25</text>');
    expect(trend).toContain('>Nov 23</text>');
    expect(trend).toContain('Audit run (UTC)');
    const bars = /<svg[^>]*aria-labelledby="bars-1-t[^"]*"[\s\S]*?<\/svg>/.exec(html)![0];
    expect(bars.match(/<g><title>/g)).toHaveLength(registries[1]!.repositories.length);
    expect(bars).toContain(esc(`${hostileRepository}: 50% streamable (5/10); 2 missing, 3 failed, 0 in progress`));
  });

  it('has the readiness checklist, the top failures with remediation and table headers', () => {
    expect(html).toContain('Readiness checklist');
    expect(html).toMatch(/Premium SKU<\/strong><span class="check-word"> — No<\/span>/);
    expect(html).toMatch(/Push events reach this app<\/strong><span class="check-word"> — Unknown<\/span>/);
    expect(html).toContain('<code>UNKNOWN_ERROR</code>');
    expect(html).toContain(
      'Only linux/amd64 images stream. Publish an amd64 variant or exclude the tag in the policy: see https://aka.ms/acr/artifact-streaming.',
    );
    expect(html).toContain('The last audit (<code>audit-20261123-0555-staging</code>');
    const tables = html.match(/<table/g)!.length;
    expect(html.match(/<thead><tr><th scope="col">/g)).toHaveLength(tables);
  });

  it('is responsive and print-friendly', () => {
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(html).toContain('@media (max-width:720px)');
    expect(html).toContain('@media print');
  });

  it('renders an empty report without failing', () => {
    const empty: ComplianceReport = { ...report, registries: [] };
    const single: ComplianceReport = {
      ...report,
      registries: [{ ...registries[2]!, trend: [], repositories: [], audit: undefined }],
    };

    expect(toHtml(empty)).toContain('No registries are configured');
    const one = toHtml(single);
    expect(one).toContain('No audit has completed yet');
    expect(one).toContain('No repositories');
    expect(one).toContain('No audit has run for this registry yet');
    expect(one).not.toContain('NaN');
  });

  // Issue #18 § 5: what the page says matches what it means.
  describe('labels and colours', () => {
    const base = registries[0]!;
    const variant = (totals: Partial<ComplianceReport['registries'][number]['totals']>, rows = base.repositories) =>
      toHtml({ ...report, registries: [{ ...base, totals: { ...base.totals, ...totals }, repositories: rows }] });
    const checklistLine = (page: string): string =>
      /<li class="check-[a-z]+">.*?<strong>Every repository has a stored policy<\/strong>.*?<\/li>/.exec(page)?.[0] ??
      '';

    it('a half-covered repository with nothing failed is not drawn in the Failed colour', () => {
      const half = {
        ...base.repositories[0]!,
        repository: 'team-half/app',
        eligible: 2,
        streamable: 1,
        missing: 1,
        failed: 0,
        inProgress: 0,
        coveragePercent: 50,
      };
      const page = variant({}, [half]);
      const row = /<tr><th scope="row">team-half\/app<\/th>.*?<\/tr>/.exec(page)?.[0] ?? '';

      expect(row).toContain(palette.streamable);
      expect(row).toContain(palette.missing);
      expect(row).not.toContain(palette.failed);
    });

    it('the checklist names the DEFAULT_POLICY fallback only for repositories without a stored policy', () => {
      const stored = checklistLine(
        variant({ repositories: 5, repositoriesWithoutPolicy: 2, repositoriesOnDefaultPolicy: 0 }),
      );
      const fallback = checklistLine(
        variant({ repositories: 5, repositoriesWithoutPolicy: 0, repositoriesOnDefaultPolicy: 3 }),
      );

      expect(stored).toContain('check-pass');
      expect(stored).not.toContain('DEFAULT_POLICY');
      expect(fallback).toContain('check-fail');
      expect(fallback).toContain('3 of 5 repositories have no stored policy and follow DEFAULT_POLICY');
    });
  });
});

describe('the trend needs two points (issue #18 § 5)', () => {
  it('says there is one audit (or none) instead of drawing a one-point trend', () => {
    const base = report.registries[0]!;
    const once = toHtml({ ...report, registries: [{ ...base, trend: base.trend.slice(0, 1) }] });
    const never = toHtml({ ...report, registries: [{ ...base, trend: [] }] });

    expect(once).toContain('One audit so far');
    expect(once).toContain('the trend appears after the next one');
    expect(once).not.toContain('id="trend-0-t"');
    expect(never).toContain('No audit has completed yet');
    expect(toHtml(report)).toContain('id="trend-0-t"');
  });
});
