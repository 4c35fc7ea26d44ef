import { describe, expect, it } from 'vitest';
import { conversionViewSchema, toView } from '../../../../lib/conversion/api.js';
import type { ConversionRecord } from '../../../../lib/conversion/record.js';

const running: ConversionRecord = {
  registry: 'contoso',
  repository: 'team-a/app',
  digest: `sha256:${'a'.repeat(64)}`,
  status: 'Running',
  tags: ['1.0'],
  reason: 'eligible',
  source: 'event',
  operationId: 'op-1',
  operationStatus: 'Running',
  progress: '40%',
  progressBaselinePercent: 10,
  progressBaselineAt: '2026-03-01T11:59:00.000Z',
  expectedFinishAt: '2026-03-01T12:02:00.000Z',
  attempts: 1,
  maxAttempts: 3,
  polls: 3,
  trackingToken: 't-1',
  createdAt: '2026-03-01T11:58:00.000Z',
  updatedAt: '2026-03-01T12:00:00.000Z',
};

describe('toView', () => {
  it('shows when the conversion is expected to finish, not the readings the estimate is kept from', () => {
    const view = toView(running);
    expect(view).toMatchObject({ expectedFinishAt: '2026-03-01T12:02:00.000Z', progress: '40%' });
    expect(view).not.toHaveProperty('progressBaselinePercent');
    expect(view).not.toHaveProperty('progressBaselineAt');
    expect(view).not.toHaveProperty('trackingToken');
    expect(conversionViewSchema.parse(view)).toMatchObject({ expectedFinishAt: '2026-03-01T12:02:00.000Z' });
  });

  it('shows no expected finish once the row is not Running', () => {
    expect(toView({ ...running, status: 'Deleted' })).not.toHaveProperty('expectedFinishAt');
  });
});
