import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
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

  it('the domains form the layered graph docs/architecture.md draws: kernel, listed domains, ports; never an SDK', () => {
    // Which other domains each domain may import (lib/core is always allowed). No cycle: policy and reports are the
    // base, conversion and alerts use policy, the audit uses all but alerts.
    const allowed: Record<string, readonly string[]> = {
      policy: [],
      // The report's Consumers section shows lib/consumers/model.ts's verdicts (issue #20).
      reports: ['consumers'],
      conversion: ['policy'],
      alerts: ['policy'],
      audit: ['policy', 'conversion', 'reports', 'consumers'],
      // Who streams (issue #20): the ARM views, the ConsumerSource port, the classifier and the consumer audit; its
      // ARM adapter is lib/registry/consumer-source.ts.
      consumers: [],
      // The doctor reads what the others decide, clusters through the consumers' port and classifier.
      diagnosis: ['policy', 'conversion', 'consumers'],
    };
    // SDKs and I/O: domains reach them through ports (storage, ACR, ARM, HTTP) that adapters implement.
    const forbiddenPackage = /^(@azure\/|node:(http|https|http2|net|tls|dgram|dns|fs|fs\/promises|child_process)$)/;
    const offenders: string[] = [];
    for (const file of sourceFiles('lib')) {
      const area = relative('lib', file).split(/[\\/]/)[0]!;
      const isDomain = area in allowed;
      if (!isDomain && area !== 'core') continue;
      for (const specifier of importsOf(readFileSync(file, 'utf8'))) {
        if (!specifier.startsWith('.')) {
          if (forbiddenPackage.test(specifier)) offenders.push(`${file} imports ${specifier}`);
          continue;
        }
        const target = relative('lib', resolve(dirname(file), specifier)).split(/[\\/]/)[0]!;
        if (target === area || target === 'core') continue;
        if (area === 'core') offenders.push(`${file} (the kernel) imports ${specifier}`);
        else if (!allowed[area]!.includes(target)) offenders.push(`${file} (${area}) imports ${specifier}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('the rule would catch a domain importing an adapter, another domain or an SDK', () => {
    const imports = importsOf(
      "import { x } from '../storage/outbox.js';\nimport type {\n  Y,\n} from '@azure/data-tables';\nconst z = await import('../audit/images.js');",
    );
    expect(imports).toEqual(['../storage/outbox.js', '@azure/data-tables', '../audit/images.js']);
  });
});

/** Every module a source file imports or re-exports, statically or dynamically. */
function importsOf(source: string): string[] {
  const specifiers: string[] = [];
  for (const match of source.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'/gms)) specifiers.push(match[1]!);
  for (const match of source.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)) specifiers.push(match[1]!);
  return specifiers;
}
