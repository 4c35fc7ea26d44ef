import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function sourceFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Production code must not know the sandbox exists: it talks to Azure (or the emulator) only through settings. */
describe('module boundaries', () => {
  it('functions/ and lib/ never import dev/ or test/', () => {
    const offenders = [...sourceFiles('functions'), ...sourceFiles('lib')].filter((file) =>
      /from\s+'(\.\.\/)+(dev|test)\//.test(readFileSync(file, 'utf8')),
    );
    expect(offenders).toEqual([]);
  });

  it('functions/ holds declarations and thin handlers: no file over 60 lines (the catalog is a list, not a handler)', () => {
    const long = sourceFiles('functions')
      .filter((file) => !file.endsWith('catalog.ts'))
      .filter((file) => readFileSync(file, 'utf8').split('\n').length > 60);
    expect(long).toEqual([]);
  });
});
