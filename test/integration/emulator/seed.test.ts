import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedSandbox } from '../../../dev/emulator/seed.js';
import { startTestEmulator, type TestEmulator } from './helpers.js';

describe('seedSandbox', () => {
  let t: TestEmulator;
  beforeAll(async () => {
    t = await startTestEmulator();
  });
  afterAll(async () => {
    await t.emulator.close();
  });

  it('creates the Premium sandbox registry with its images and calls the hook', async () => {
    const hooked: string[] = [];
    const seed = await seedSandbox(t.control, { afterRegistry: (name) => Promise.resolve(void hooked.push(name)) });
    expect(hooked).toEqual(['sandbox']);
    expect(seed.loginServer).toBe(t.emulator.registry('sandbox').loginServer);
    const runtime = t.emulator.state.registry('sandbox');
    expect(runtime?.definition.sku).toBe('Premium');
    expect([...(runtime?.store.repositories.keys() ?? [])].sort()).toEqual([
      'charts/mychart',
      'team-a/app',
      'team-a/arm-only',
      'team-b/multi',
      'team-b/windows',
    ]);
    expect(seed.images.multiArch.children.map((c) => `${c.os}/${c.architecture}`)).toEqual([
      'linux/amd64',
      'linux/arm64',
    ]);
    expect(t.sink.events.filter((e) => e.action === 'push')).toHaveLength(7);
  });
});
