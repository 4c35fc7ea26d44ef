import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configSettingNames, loadConfig } from '../../../lib/config.js';

const sample = JSON.parse(readFileSync('local.settings.sample.json', 'utf8')) as { Values: Record<string, string> };
/** Settings the Functions runtime itself reads, not the app's schema. */
const runtimeSettings = new Set(['FUNCTIONS_WORKER_RUNTIME']);

describe('local.settings.sample.json', () => {
  it('names every setting of the config schema, and nothing else', () => {
    const sampleNames = Object.keys(sample.Values).filter((name) => !runtimeSettings.has(name));
    expect([...sampleNames].sort()).toEqual([...configSettingNames].sort());
  });

  it('is a valid configuration as shipped', () => {
    expect(() => loadConfig(sample.Values)).not.toThrow();
  });
});
