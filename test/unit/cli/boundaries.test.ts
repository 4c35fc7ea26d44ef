import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { expect, it } from 'vitest';
import packageJson from '../../../package.json' with { type: 'json' };

function files(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/**
 * The CLI speaks HTTP only: it imports nothing of the app (lib/, functions/) or the sandbox (dev/), and of the
 * packages only its parser and @azure/identity, so it can move into a package of its own unchanged.
 */
it('cli/ imports only cli/, node:, commander and @azure/identity', () => {
  const imports = files('cli').flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/(?:from|import\()\s*'([^']+)'/g)].map((match) => ({
      file,
      target: match[1]!,
    })),
  );
  const inside = (file: string, target: string): boolean =>
    resolve(dirname(file), target).startsWith(`${resolve('cli')}/`);
  const foreign = imports
    .filter(({ file, target }) =>
      target.startsWith('.') ? !inside(file, target) : !/^(node:|commander$|@azure\/identity$)/.test(target),
    )
    .map(({ file, target }) => `${file}: ${target}`);

  expect(imports.length).toBeGreaterThan(10);
  expect(foreign).toEqual([]);
  expect(packageJson.bin).toEqual({ 'acr-streaming': 'bin/acr-streaming.js' });
});
