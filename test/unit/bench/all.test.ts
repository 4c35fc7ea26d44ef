import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { benchScripts, documentedRuns, main } from '../../../bench/all.js';

describe('npm run bench (issue #19 § 6)', () => {
  it('each bench:* script is one command, so arguments after -- reach that benchmark', () => {
    for (const [name, command] of Object.entries(benchScripts()))
      expect(command, name).toMatch(/^tsx bench\/[a-z-]+\.ts$/);
  });

  it('runs every bench:* script with documented arguments, and each of those arguments is in docs/benchmarks.md', () => {
    const doc = readFileSync('docs/benchmarks.md', 'utf8');
    expect(new Set(documentedRuns.map((run) => run.script))).toEqual(new Set(Object.keys(benchScripts())));
    for (const run of documentedRuns) {
      const command = `npm run ${run.script}${run.args.length > 0 ? ` -- ${run.args.join(' ')}` : ''}`;
      expect(doc, command).toContain(`\`${command}\``);
    }
  });

  it('refuses arguments instead of handing them to one benchmark', () => {
    const said = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(main(['1000', '1,10,100'])).toBe(2);
      expect(said.mock.calls.join('\n')).toContain('npm run bench:push -- 1000 1,10,100');
    } finally {
      said.mockRestore();
    }
  });
});
