import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** The app's version from package.json, found from source (lib/) and compiled (dist/lib/) layouts alike. */
export function appVersion(): string {
  if (cached !== undefined) return cached;
  for (const relative of ['../package.json', '../../package.json']) {
    try {
      const manifest = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === 'acr-streaming-autopilot' && manifest.version) return (cached = manifest.version);
    } catch {
      // try the next candidate
    }
  }
  return (cached = 'unknown');
}
