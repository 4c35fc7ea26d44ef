import type { SeededManifest } from './control.js';
import type { EmulatorControlClient } from './control-client.js';

export interface SandboxSeed {
  readonly registry: string;
  readonly loginServer: string;
  readonly images: {
    readonly amd64: SeededManifest;
    readonly arm64Only: SeededManifest;
    readonly multiArch: SeededManifest;
    readonly windows: SeededManifest;
    readonly helm: SeededManifest;
  };
}

export interface SeedHooks {
  /** Called after the registry exists, e.g. the ARM module adding connected registries. */
  readonly afterRegistry?: (registry: string) => Promise<void>;
}

/**
 * The standard sandbox: Premium registry `sandbox` with an amd64 image, an arm64-only image, a multi-arch index,
 * a Windows image and a Helm chart in separate repositories. Idempotent on the registry, not on the content
 * (re-running pushes the same digests again, which raises push events again, as ACR would).
 */
export async function seedSandbox(control: EmulatorControlClient, hooks: SeedHooks = {}): Promise<SandboxSeed> {
  const name = 'sandbox';
  const existing = await control.getRegistry(name);
  const loginServer = existing?.loginServer ?? (await control.createRegistry({ name, sku: 'Premium' })).loginServer;
  await hooks.afterRegistry?.(name);
  const amd64 = await control.seedImage(name, {
    kind: 'image',
    repository: 'team-a/app',
    tag: 'v1',
    platform: 'linux/amd64',
  });
  const arm64Only = await control.seedImage(name, {
    kind: 'image',
    repository: 'team-a/arm-only',
    tag: 'v1',
    platform: 'linux/arm64',
  });
  const multiArch = await control.seedImage(name, {
    kind: 'index',
    repository: 'team-b/multi',
    tag: 'v1',
    platforms: ['linux/amd64', 'linux/arm64'],
  });
  const windows = await control.seedImage(name, {
    kind: 'image',
    repository: 'team-b/windows',
    tag: 'ltsc2022',
    platform: 'windows/amd64',
  });
  const helm = await control.seedImage(name, { kind: 'helm', repository: 'charts/mychart', tag: '0.1.0' });
  return { registry: name, loginServer, images: { amd64, arm64Only, multiArch, windows, helm } };
}
