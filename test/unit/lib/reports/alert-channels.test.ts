import { describe, expect, it } from 'vitest';
import { complianceReportSchema } from '../../../../lib/reports/model.js';
import { toMarkdown } from '../../../../lib/reports/render/markdown.js';
import { report } from './fixture.js';

/** Issue #16 §4: an alert channel disabled by a missing or unresolved secret is named in the report too. */
describe('report: disabled alert channels', () => {
  const withDisabled = {
    ...report,
    alertChannels: [
      {
        name: 'ops',
        kind: 'webhook',
        status: 'disabled',
        reason: 'setting OPS_URL is an unresolved Key Vault reference',
      },
      { name: 'team', kind: 'teams', status: 'enabled' },
    ],
  };

  it('carries every channel with its status in the JSON (and reads reports from before as none)', () => {
    expect(complianceReportSchema.parse(withDisabled).alertChannels).toEqual(withDisabled.alertChannels);
    expect(complianceReportSchema.parse(report).alertChannels).toEqual([]);
  });

  it('names a disabled channel and the setting to fix in the Markdown summary', () => {
    const markdown = toMarkdown(complianceReportSchema.parse(withDisabled));
    expect(markdown).toContain('## Alert channels disabled');
    expect(markdown).toContain('`ops` (webhook): setting OPS\\_URL is an unresolved Key Vault reference');
    expect(toMarkdown(report)).not.toContain('Alert channels disabled');
  });
});
