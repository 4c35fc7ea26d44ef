import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { packagePlan } from '../../../scripts/stage-package.js';

/**
 * Issue #16 §4: the deployment package holds the build and the production dependencies only. azd packages the
 * directory named by the service's `dist` (azure-dev pkg/project/framework_service_node.go: the package path is
 * the service path joined with OutputPath), so a prepackage hook stages exactly that into .deploy/.
 */
describe('deployment package', () => {
  const azureYaml = readFileSync('azure.yaml', 'utf8');

  it('has azd package the staged directory, built here (no remote build that would install devDependencies)', () => {
    expect(azureYaml).toMatch(/\n {4}dist: \.deploy\n/);
    expect(azureYaml).toMatch(/\n {4}remoteBuild: false\n/);
    expect(azureYaml).toMatch(/prepackage:[\s\S]*run: npx tsx scripts\/stage-package\.ts/);
  });

  it('stages the build, host.json and the manifest, and installs production dependencies only', () => {
    const plan = packagePlan();
    expect(plan.copy).toEqual(['host.json', 'package.json', 'package-lock.json']);
    expect(plan.build).toEqual(['-p', 'tsconfig.build.json', '--outDir']);
    expect(plan.install).toEqual(['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund']);
  });

  it('keeps the staging directory out of git and out of the linters', () => {
    expect(readFileSync('.gitignore', 'utf8')).toMatch(/^\.deploy\/$/m);
    expect(readFileSync('.prettierignore', 'utf8')).toMatch(/^\.deploy$/m);
  });
});
