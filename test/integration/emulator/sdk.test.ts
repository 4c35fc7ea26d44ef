import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { ContainerRegistryClient, KnownContainerRegistryAudience } from '@azure/container-registry';
import type { TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SeededManifest } from '../../../dev/emulator/control.js';
import { startTestEmulator, type TestEmulator } from './helpers.js';

/**
 * The unmodified SDK, trusting the emulator CA through a per-call policy that sets an https.Agent:
 * no NODE_EXTRA_CA_CERTS needed, and the policy also covers the SDK's internal /oauth2 client.
 */
describe('@azure/container-registry against the emulator', () => {
  let t: TestEmulator;
  let client: ContainerRegistryClient;
  let amd64: SeededManifest;
  let index: SeededManifest;
  const aadTokensIssued: string[] = [];

  beforeAll(async () => {
    t = await startTestEmulator({ registries: [{ name: 'sandbox' }] });
    const registry = t.emulator.registry('sandbox');
    amd64 = await t.control.seedImage('sandbox', {
      kind: 'image',
      repository: 'team-a/app',
      tag: 'v1',
      platform: 'linux/amd64',
    });
    await t.control.advanceClock(1000);
    await t.control.seedImage('sandbox', {
      kind: 'image',
      repository: 'team-a/app',
      tag: 'v2',
      platform: 'linux/arm64',
    });
    await t.control.advanceClock(1000);
    await t.control.seedImage('sandbox', {
      kind: 'image',
      repository: 'team-a/app',
      tag: 'v3',
      platform: 'windows/amd64',
    });
    index = await t.control.seedImage('sandbox', { kind: 'index', repository: 'team-b/multi', tag: 'latest' });
    for (const name of ['charts/a', 'charts/b', 'charts/c'])
      await t.control.seedImage('sandbox', { kind: 'helm', repository: name, tag: '1.0.0' });

    const agent = new Agent({ ca: readFileSync(registry.caFile) });
    const trustEmulatorCa: PipelinePolicy = {
      name: 'trust-emulator-ca',
      sendRequest: (request, next) => {
        request.agent = agent;
        return next(request);
      },
    };
    const credential: TokenCredential = {
      getToken: (scopes) => {
        aadTokensIssued.push(Array.isArray(scopes) ? scopes.join(' ') : String(scopes));
        return Promise.resolve({ token: 'fake-aad-token', expiresOnTimestamp: Date.now() + 3600_000 });
      },
    };
    client = new ContainerRegistryClient(registry.httpsUrl, credential, {
      audience: KnownContainerRegistryAudience.AzureResourceManagerPublicCloud,
      additionalPolicies: [{ policy: trustEmulatorCa, position: 'perCall' }],
    });
  });
  afterAll(async () => {
    await t.emulator.close();
  });

  it('lists repositories with paging through Link headers', async () => {
    const pages: string[][] = [];
    for await (const page of client.listRepositoryNames().byPage({ maxPageSize: 2 })) pages.push([...page]);
    expect(pages).toEqual([['charts/a', 'charts/b'], ['charts/c', 'team-a/app'], ['team-b/multi']]);
    expect(aadTokensIssued.length).toBeGreaterThan(0);
    const exchanges = await t.control.requests({ path: '^/oauth2/exchange$' });
    expect(exchanges.length).toBeGreaterThan(0);
    expect(exchanges[0]?.query).toContain('api-version=2021-07-01');
  });

  it('lists manifests with architecture, os and size, newest first', async () => {
    const manifests = [];
    for await (const m of client
      .getRepository('team-a/app')
      .listManifestProperties({ order: 'LastUpdatedOnDescending' }))
      manifests.push(m);
    expect(manifests.map((m) => [m.architecture, m.operatingSystem, m.tags])).toEqual([
      ['amd64', 'windows', ['v3']],
      ['arm64', 'linux', ['v2']],
      ['amd64', 'linux', ['v1']],
    ]);
    const first = manifests.find((m) => m.digest === amd64.digest);
    expect(first?.sizeInBytes).toBeGreaterThan(0);
    expect(first?.canDelete).toBe(true);
  });

  it('shows an index with its children platforms', async () => {
    const props = await client.getArtifact('team-b/multi', 'latest').getManifestProperties();
    expect(props.digest).toBe(index.digest);
    expect(props.relatedArtifacts.map((r) => [r.architecture, r.operatingSystem])).toEqual([
      ['amd64', 'linux'],
      ['arm64', 'linux'],
    ]);
  });

  it('pages tags and reads tag properties', async () => {
    // SDK 1.1.2 lists every tag of the repository here (it sends no `digest` filter).
    const pages: string[][] = [];
    for await (const page of client.getArtifact('team-a/app', 'v1').listTagProperties().byPage({ maxPageSize: 1 }))
      pages.push(page.map((p) => p.name));
    expect(pages).toEqual([['v1'], ['v2'], ['v3']]);
    const tag = await client.getArtifact('team-a/app', 'v1').getTagProperties('v1');
    expect(tag).toMatchObject({ name: 'v1', digest: amd64.digest, canWrite: true });
    const allTags: string[] = [];
    for await (const page of client.getRepository('team-a/app').listManifestProperties().byPage({ maxPageSize: 1 }))
      allTags.push(...page.flatMap((m) => m.tags));
    expect(allTags.sort()).toEqual(['v1', 'v2', 'v3']);
  });

  it('updates and deletes through the metadata API', async () => {
    const artifact = client.getArtifact('team-a/app', 'v3');
    const updated = await artifact.updateManifestProperties({ canDelete: false });
    expect(updated.canDelete).toBe(false);
    await expect(artifact.delete()).rejects.toMatchObject({ statusCode: 403 });
    await artifact.updateManifestProperties({ canDelete: true });
    await artifact.delete();
    const deleted = await t.sink.next((e) => e.action === 'delete' && e.repository === 'team-a/app');
    expect(deleted.method).toBe('DELETE');
  });
});
