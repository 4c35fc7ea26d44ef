import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configSettingNames } from '../../lib/config.js';

/** The README's configuration table must name every setting the schema reads (and nothing it does not). */
describe('README configuration table', () => {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(
    readme.indexOf('## Configuration'),
    readme.indexOf('\n## ', readme.indexOf('## Configuration') + 5),
  );
  /** Upper-case names in backticks: the settings the table documents. */
  const documented = new Set([...section.matchAll(/`([A-Z][A-Z0-9_]{3,})`/g)].map((match) => match[1]!));

  it('documents every setting of the config schema', () => {
    const missing = configSettingNames.filter(
      (name) =>
        !section.includes(`\`${name}\``) && !(name.startsWith('AzureWebJobsStorage__') && section.includes('`__')),
    );
    expect(missing).toEqual([]);
  });

  it('documents no setting the schema does not read', () => {
    expect([...documented].filter((name) => !configSettingNames.includes(name))).toEqual([]);
  });
});
