import { describe, expect, it } from 'vitest';
import { complianceReportSchema } from '../../../../../lib/reports/model.js';
import { toJson } from '../../../../../lib/reports/render/json.js';
import { report } from '../fixture.js';

describe('JSON renderer', () => {
  it('writes the schema itself, pretty, and it parses back to the same report', () => {
    const text = toJson(report);

    expect(text.startsWith('{\n  "schemaVersion": "1",')).toBe(true);
    expect(text.endsWith('}\n')).toBe(true);
    expect(complianceReportSchema.parse(JSON.parse(text))).toEqual(report);
  });
});
