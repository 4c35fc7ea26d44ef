import { describe, expect, it } from 'vitest';
import { markdownText, toMarkdown } from '../../../../../lib/reports/render/markdown.js';
import type { ComplianceReport } from '../../../../../lib/reports/model.js';
import { hostileRepository, report } from '../fixture.js';

describe('Markdown renderer', () => {
  const text = toMarkdown(report);
  const lines = text.split('\n');

  it('summarizes coverage per registry with missing and failed counts', () => {
    expect(lines[0]).toBe('# Artifact streaming compliance report');
    expect(text).toContain(
      '**Coverage 83%**: 229 of 276 eligible images are streamable; 29 missing, 11 failed, 7 in progress across 3 registries and 15 repositories.',
    );
    expect(text).toContain('| contosoprod | yes | 90.4% | 209 | 189 | 14 | 1 | 5 | 2 |');
    expect(text).toContain('| sandboxbasic | **no** | 0% | 3 | 0 | 3 | 0 | 0 | 2 |');
    expect(text).toContain('- The last audit of contosostaging did not complete; its figures may be partial.');
  });

  it('lists the top failures with remediation and the connected registries needing attention', () => {
    const failures = lines.filter((line) => line.startsWith('| `'));
    expect(failures[0]).toMatch(/^\| `UNKNOWN_ERROR` \| 6 \| contosostaging \| ACR reported an unknown error/);
    expect(text).toContain(
      '| contosostaging | store-0042 | Stale | 2026-11-19 11:04 UTC | No activity for 3 days 19 hours.',
    );
    expect(text).not.toContain('factory-eu');
  });

  it('lists repositories whose ACR switch drifted from the policy, unrepaired first (issue #15)', () => {
    const drift = lines.filter((line) => line.startsWith('| contosoprod | edge/'));
    expect(drift).toEqual([
      expect.stringMatching(
        /^\| contosoprod \| edge\/gateway \| `edge\/\*\*` \| on \| off \| \*\*not repaired\*\* \| 2026-11-22 06:00 UTC by the audit \| ACR answered 403 DENIED/,
      ),
      expect.stringMatching(
        /^\| contosoprod \| edge\/telemetry-agent \| `edge\/\*\*` \| on \| on \| repaired 2026-11-21 06:00 UTC \|/,
      ),
    ]);
    expect(toMarkdown({ ...report, registries: report.registries.map((r) => ({ ...r, drift: [] })) })).not.toContain(
      "ACR's switch drifted",
    );
  });

  it('links the sibling files by default, or the links given', () => {
    expect(text).toContain(
      '[Report (HTML)](<report.html>) · [Image findings (CSV)](<report.csv>) · [Data (JSON)](<report.json>)',
    );
    expect(toMarkdown(report, { html: 'https://example.test/r.html', csv: 'c.csv', json: 'j.json' })).toContain(
      '(<https://example.test/r.html>)',
    );
  });

  it('keeps every table well formed: the same number of cells in each row', () => {
    let columns: number | undefined;
    for (const line of lines) {
      if (!line.startsWith('|')) {
        columns = undefined;
        continue;
      }
      const cells = line.replace(/\\\|/g, '').split('|').length;
      columns ??= cells;
      expect(cells, line).toBe(columns);
    }
  });

  it('escapes markup, HTML and pipes in names', () => {
    expect(markdownText(hostileRepository)).toBe('team-\\<script\\>alert(1)\\</script\\>/ünïcødé-app');
    expect(markdownText('a|b *c* _d_ [e](f) `g`\nh')).toBe('a\\|b \\*c\\* \\_d\\_ \\[e\\](f) \\`g\\` h');
    expect(text).not.toMatch(/(?<!\\)<(?!report\.)/);
    expect(text).toContain('store-\\<b\\>0044\\</b\\>');
  });

  it('says so when there is nothing to report', () => {
    const empty: ComplianceReport = { ...report, registries: [] };

    const out = toMarkdown(empty);

    expect(out).toContain('No registries are configured.');
    expect(out).toContain('No failed conversions.');
    expect(out).toContain('No connected registries.');
  });
});
