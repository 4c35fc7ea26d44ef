import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RegistrySettings } from '../../../../lib/core/registries.js';
import { parseRegistryEvent } from '../../../../lib/conversion/events.js';

function fixture(name: string): Record<string, unknown> & { topic: string; data: { target: Record<string, unknown> } } {
  return JSON.parse(
    readFileSync(new URL(`../../../fixtures/reference/eventgrid/${name}`, import.meta.url), 'utf8'),
  ) as never;
}

const pushedFixture = fixture('image_pushed.json');
const deletedFixture = fixture('image_deleted.json');
const chartFixture = fixture('chart_pushed.json');

// The recorded events come from registry "jolovcr"; configure it under the topic they carry.
const jolovcr: RegistrySettings = {
  name: 'jolovcr',
  loginServer: 'jolovcr.azurecr.io',
  resourceId: pushedFixture.topic,
  auth: { type: 'identity' },
};
const other: RegistrySettings = {
  name: 'other',
  loginServer: 'other.azurecr.io',
  resourceId: '/subscriptions/1111/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/other',
  auth: { type: 'identity' },
};
const registries = [other, jolovcr];

function withTarget(target: Record<string, unknown>): unknown {
  return { ...pushedFixture, data: { ...pushedFixture.data, target: { ...pushedFixture.data.target, ...target } } };
}

describe('parseRegistryEvent', () => {
  it('parses the recorded ImagePushed event', () => {
    expect(parseRegistryEvent(pushedFixture, registries)).toEqual({
      kind: 'pushed',
      eventId: 'c25fdb80-ebbd-4dd0-a29c-a7349e6388f6',
      registry: 'jolovcr',
      repository: 'samples/nginx',
      digest: 'sha256:57a94fc99816c6aa225678b738ac40d85422e75dbb96115f1bb9b6ed77176166',
      tag: 'latest',
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      eventTime: '2021-09-08T06:37:45.6609948Z',
    });
  });

  it('parses the recorded ImageDeleted event, which has no tag', () => {
    expect(parseRegistryEvent(deletedFixture, registries)).toEqual({
      kind: 'deleted',
      eventId: '6fdef14c-2594-41e8-9156-c0376eb0a190',
      registry: 'jolovcr',
      repository: 'samples/nginx',
      digest: 'sha256:57a94fc99816c6aa225678b738ac40d85422e75dbb96115f1bb9b6ed77176166',
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      eventTime: '2021-09-08T06:49:40.5342401Z',
    });
  });

  it('ignores the recorded ChartPushed event from a configured registry', () => {
    const chart = { ...chartFixture, topic: jolovcr.resourceId };

    expect(parseRegistryEvent(chart, registries)).toEqual({
      kind: 'ignored',
      eventId: chartFixture.id,
      reason: 'event type Microsoft.ContainerRegistry.ChartPushed is not handled',
    });
  });

  it('matches the topic case-insensitively, as ARM IDs are', () => {
    expect(
      parseRegistryEvent({ ...pushedFixture, topic: pushedFixture.topic.toUpperCase() }, registries),
    ).toMatchObject({ kind: 'pushed', registry: 'jolovcr' });
  });

  it('rejects a topic that is not a configured registry', () => {
    const spoofed = {
      ...pushedFixture,
      topic:
        '/subscriptions/faa080af-c1d8-40ad-9cce-e1a450ca5b57/resourceGroups/jolov/providers/Microsoft.ContainerRegistry/registries/jolovcr2',
    };

    expect(parseRegistryEvent(spoofed, registries)).toMatchObject({
      kind: 'rejected',
      eventId: pushedFixture.id,
      reason: expect.stringContaining('is not a configured registry') as string,
    });
  });

  it('rejects every event when no registry is configured', () => {
    expect(parseRegistryEvent(pushedFixture, [])).toMatchObject({ kind: 'rejected' });
  });

  it.each([
    ['an eventType of the wrong type', { ...pushedFixture, eventType: 42 }],
    ['no id', { ...pushedFixture, id: undefined }],
    ['no data', { ...pushedFixture, data: undefined }],
    ['no target', { ...pushedFixture, data: { action: 'push' } }],
    ['a numeric digest', withTarget({ digest: 7 })],
    ['a negative size', withTarget({ size: -1 })],
    ['an array', [pushedFixture]],
    ['null', null],
  ])('rejects an event with %s as malformed', (_name, raw) => {
    const result = parseRegistryEvent(raw, registries);

    expect(result).toMatchObject({ kind: 'rejected', reason: expect.stringMatching(/^malformed event: /) as string });
  });

  it('keeps the event id of a malformed event for the log when it has one', () => {
    expect(parseRegistryEvent({ ...pushedFixture, data: undefined }, registries)).toMatchObject({
      kind: 'rejected',
      eventId: pushedFixture.id,
    });
  });

  it.each([
    ['a path-traversal repository', { repository: '../../admin' }, /not an OCI repository name/],
    ['an encoded path-traversal repository', { repository: 'samples/%2e%2e/nginx' }, /not an OCI repository name/],
    ['an uppercase repository', { repository: 'Samples/Nginx' }, /not an OCI repository name/],
    ['a repository with a query', { repository: 'samples/nginx?x=1' }, /not an OCI repository name/],
    ['a short digest', { digest: 'sha256:57a94fc9' }, /is not a digest/],
    ['a digest with a path', { digest: 'sha256:../../x' }, /is not a digest/],
    ['an md5 digest', { digest: 'md5:d41d8cd98f00b204e9800998ecf8427e' }, /is not a digest/],
    ['a tag with a slash', { tag: 'a/b' }, /is not a tag/],
  ])('rejects %s', (_name, target, reason) => {
    expect(parseRegistryEvent(withTarget(target), registries)).toMatchObject({
      kind: 'rejected',
      eventId: pushedFixture.id,
      reason: expect.stringMatching(reason) as string,
    });
  });

  it('never throws, whatever JSON arrives (property)', () => {
    const nearlyValid = fc.record(
      {
        id: fc.oneof(fc.string(), fc.constant(pushedFixture.id)),
        topic: fc.oneof(fc.string(), fc.constant(jolovcr.resourceId)),
        eventType: fc.oneof(
          fc.string(),
          fc.constant('Microsoft.ContainerRegistry.ImagePushed'),
          fc.constant('Microsoft.ContainerRegistry.ImageDeleted'),
        ),
        data: fc.record(
          {
            target: fc.record(
              {
                repository: fc.oneof(fc.string(), fc.constant('samples/nginx')),
                digest: fc.string(),
                tag: fc.string(),
              },
              { requiredKeys: [] },
            ),
          },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    );

    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), nearlyValid), (raw) => {
        const result = parseRegistryEvent(raw, registries);

        expect(['pushed', 'deleted', 'ignored', 'rejected']).toContain(result.kind);
      }),
    );
  });
});
