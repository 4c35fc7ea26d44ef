#!/usr/bin/env node
// The `acr-streaming` command (package.json "bin"). In a checkout it runs the TypeScript sources through tsx, so
// `npx acr-streaming` works without a build and never runs a stale one; where tsx or the sources are absent (an
// install without devDependencies) it runs the build, dist/cli/main.js (`npm run build`).
import { existsSync } from 'node:fs';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';

const source = new URL('../cli/main.ts', import.meta.url);
const built = new URL('../dist/cli/main.js', import.meta.url);

async function tsx() {
  try {
    return await import('tsx/esm/api');
  } catch {
    return undefined;
  }
}

const api = existsSync(fileURLToPath(source)) ? await tsx() : undefined;
if (api !== undefined) {
  api.register();
  await import(source.href);
} else if (existsSync(fileURLToPath(built))) {
  await import(built.href);
} else {
  process.stderr.write('acr-streaming: no build found; run `npm run build` (or install tsx) first.\n');
  process.exitCode = 1;
}
