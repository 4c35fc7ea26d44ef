import { describe, expect, it } from 'vitest';
import { toAlertEvent, type AlertEvent } from '../../../../lib/alerts/events.js';
import { summaryTeamsMessage, teamsMessage, webhookBody, type LinkContext } from '../../../../lib/alerts/render.js';

/*
 * Issue #18 § 6: alert texts a reader can act on as written — the registry filled in, only routes that exist,
 * links to the conversion and to the report, labels that fit the card they are on.
 */
const base = 'https://autopilot.example.test';
const context: LinkContext = { appBaseUrl: base };
const digest = `sha256:${'a'.repeat(64)}`;

function event(payload: Record<string, unknown>): AlertEvent {
  const read = toAlertEvent({ time: '2026-11-23T15:00:00.000Z', registry: 'contoso', ...payload });
  if (!('event' in read)) throw new Error(read.reason);
  return read.event;
}

const texts = (value: unknown): string => JSON.stringify(value);
const actions = (message: ReturnType<typeof teamsMessage>) =>
  message.attachments[0]!.content.actions?.map((action) => ({ title: action.title, url: action.url })) ?? [];

describe('alert texts', () => {
  it('an outbox event stored with the {registry} placeholder is sent with the registry filled in', () => {
    const failed = event({
      id: 'conversion.failed:team-a:app@x:1',
      type: 'conversion.failed',
      repository: 'team-a/app',
      digest,
      remediation: 'Start it again with POST /api/registries/{registry}/conversions.',
      message: 'the conversion of {registry}/team-a/app failed',
    });

    for (const rendered of [webhookBody('d-1', failed, context), teamsMessage(failed, context)]) {
      expect(texts(rendered)).not.toContain('{registry}');
      expect(texts(rendered)).toContain('POST /api/registries/contoso/conversions');
    }
  });

  it('a conversion alert links to its conversion record', () => {
    const failed = event({ id: 'e-1', type: 'conversion.failed', repository: 'team-a/app', digest });

    expect(actions(teamsMessage(failed, context))).toContainEqual({
      title: 'Open the conversion record',
      url: `${base}/api/registries/contoso/conversions/${digest}?repository=team-a%2Fapp`,
    });
  });

  it('report.ready links to that report (not only the latest), as a button', () => {
    const ready = event({
      id: 'report.ready.20261123T150000000Z-contoso',
      type: 'report.ready',
      message: 'Compliance report for contoso: 50 % of eligible images streamable',
      facts: { 'Report id': '20261123T150000000Z-contoso', Coverage: '50 %' },
    });

    const card = teamsMessage(ready, context);
    expect(actions(card)).toEqual([
      { title: 'Open the report', url: `${base}/api/reports/20261123T150000000Z-contoso?format=html` },
    ]);
    expect(webhookBody('d-2', ready, context).links).toEqual([
      { title: 'Open the report', url: `${base}/api/reports/20261123T150000000Z-contoso?format=html` },
    ]);
  });

  it('the audit alert links to the registry report, and names no route that does not exist', () => {
    const audit = event({
      id: 'audit.missingStreamingArtifacts:run-1',
      type: 'audit.missingStreamingArtifacts',
      message: '3 image(s) in contoso should be streamable but have no streaming artifact',
    });

    expect(actions(teamsMessage(audit, context))).toEqual([
      { title: 'Open the latest report', url: `${base}/api/reports/latest?format=html&registry=contoso` },
    ]);
  });

  it('the summary points to the route that lists the summarized alerts', () => {
    const events = Array.from({ length: 60 }, (_, index) =>
      event({ id: `e-${index}`, type: 'conversion.failed', repository: `team-a/app${index}`, digest }),
    );
    const card = summaryTeamsMessage(
      { id: 's-1', type: 'conversion.failed', registry: 'contoso', time: events[0]!.time, events, omitted: 0 },
      context,
    );

    expect(texts(card)).toContain('GET /api/alerts?status=summarized');
  });
});
