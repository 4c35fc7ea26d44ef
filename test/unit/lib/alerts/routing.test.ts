import { describe, expect, it } from 'vitest';
import { connectedRegistryRemediation, problemFromStatusCode } from '../../../../lib/audit/connected-remediation.js';
import type { AlertEvent } from '../../../../lib/alerts/events.js';
import { maxTeamsBytes, summaryTeamsMessage } from '../../../../lib/alerts/render.js';
import { routeAlert } from '../../../../lib/alerts/routing.js';
import type { ChannelSettings } from '../../../../lib/alerts/settings.js';
import { policySchema } from '../../../../lib/policy/model.js';

const channel = (name: string, overrides: Partial<ChannelSettings> = {}): ChannelSettings => ({
  name,
  kind: 'webhook',
  urlSetting: 'U',
  secretSetting: 'S',
  minSeverity: 'warning',
  ratePerMinute: 30,
  ...overrides,
});
const failed: AlertEvent = {
  id: 'e1',
  type: 'conversion.failed',
  severity: 'error',
  time: '2026-11-23T00:00:00Z',
  registry: 'r',
  repository: 'team-a/app',
  digest: 'sha256:1',
  message: 'failed',
};

describe('routeAlert', () => {
  const channels = [
    channel('ops'),
    channel('team-a'),
    channel('successes', { events: ['conversion.succeeded'], minSeverity: 'info' }),
  ];

  it('sends failures to every channel that takes them, and successes only where asked for', () => {
    expect(routeAlert(failed, channels, undefined).map((c) => c.name)).toEqual(['ops', 'team-a']);
    expect(
      routeAlert({ ...failed, type: 'conversion.succeeded', severity: 'info' }, channels, undefined).map((c) => c.name),
    ).toEqual(['successes']);
  });

  it('lets a policy narrow to its channels and event types, never widen', () => {
    const narrow = policySchema.parse({
      alerts: { channels: ['team-a', 'not-configured'], events: ['conversion.failed'] },
    });
    expect(routeAlert(failed, channels, narrow).map((c) => c.name)).toEqual(['team-a']);
    expect(routeAlert({ ...failed, type: 'conversion.timedOut' }, channels, narrow)).toEqual([]);
  });

  it('lets report announcements and recoveries through whatever the minimum severity', () => {
    const info = { ...failed, repository: undefined, digest: undefined, severity: 'info' as const };
    expect(routeAlert({ ...info, type: 'report.ready' }, [channel('ops')], undefined).map((c) => c.name)).toEqual([
      'ops',
    ]);
    expect(
      routeAlert({ ...info, type: 'connectedRegistry.recovered' }, [channel('ops')], undefined).map((c) => c.name),
    ).toEqual(['ops']);
  });

  it("drops events below a channel's minimum severity", () => {
    expect(
      routeAlert(
        { ...failed, type: 'conversion.canceled', severity: 'warning' },
        [channel('errors-only', { minSeverity: 'error' })],
        undefined,
      ),
    ).toEqual([]);
  });
});

describe('summary cards', () => {
  it('stay under the Teams size limit even for very long repository names', () => {
    const events = Array.from({ length: 50 }, (_, i): AlertEvent => ({
      ...failed,
      id: `e${i}`,
      repository: `team/${'x'.repeat(240)}${i}`,
      remediation: 'y'.repeat(900),
    }));
    const message = summaryTeamsMessage(
      { id: 's', type: 'conversion.failed', registry: 'r', time: failed.time, events, omitted: 200 },
      {},
    );
    expect(Buffer.byteLength(JSON.stringify(message))).toBeLessThanOrEqual(maxTeamsBytes);
  });
});

describe('connected registry remediation', () => {
  it('names the real registries and the command that fixes ALREADY_ACTIVATED', () => {
    expect(
      connectedRegistryRemediation('alreadyActivated', { registry: 'contoso', connectedRegistry: 'edge1' }),
    ).toContain('az acr connected-registry deactivate -n edge1 -r contoso');
    expect(problemFromStatusCode('ALREADY_ACTIVATED')).toBe('alreadyActivated');
    expect(problemFromStatusCode('SomethingElse')).toBeUndefined();
  });
});
