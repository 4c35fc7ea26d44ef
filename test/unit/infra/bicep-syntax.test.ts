import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bicepSyntaxProblems } from '../../support/bicep-syntax.js';
import { bicepFiles } from './bicep-text.js';

/*
 * Every .bicep file in the repository parses with the tree-sitter-bicep grammar (issue #16 §4). The text checks
 * of parity.test.ts stay: they check meaning (settings, names, roles), this checks syntax.
 */

const files = bicepFiles('.');

describe('infra: Bicep syntax (tree-sitter-bicep)', () => {
  it('finds the templates', () => {
    expect(files).toEqual(expect.arrayContaining(['infra/main.bicep', 'infra/eventgrid.bicep']));
  });

  it.each(files)('%s has no syntax error', async (file) => {
    expect(await bicepSyntaxProblems(readFileSync(file, 'utf8'))).toEqual([]);
  });

  it('reports an unclosed object and a stray token with their positions', async () => {
    const problems = await bicepSyntaxProblems("param a string\nresource s 'Microsoft.Web/sites@2023-12-01' = {\n");
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.some((problem) => problem.kind.startsWith('MISSING') || problem.kind === 'ERROR')).toBe(true);
    expect(await bicepSyntaxProblems("var x = 1 +\nparam p string = 'a'")).not.toEqual([]);
  });
});
