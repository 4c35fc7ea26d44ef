import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Issue #18 § 2: README commands that cannot drift. Every fenced block whose info string is `bash sandbox`, in
 * README.md and docs/*.md, runs against a sandbox started as the README says (`npm start`, here with
 * `--in-memory --port 0` and its files in a temporary `.sandbox`), from a directory laid out like the repository's
 * root, and must exit 0 (the examples use `curl --fail-with-body`, so an HTTP error fails the block).
 */
const repository = resolve(import.meta.dirname, '../..');

interface Block {
  readonly file: string;
  readonly line: number;
  readonly script: string;
}

function sandboxBlocks(): Block[] {
  const files = ['README.md', ...readdirSync(join(repository, 'docs')).filter((name) => name.endsWith('.md'))];
  return files.flatMap((name) => {
    const file = name === 'README.md' ? name : `docs/${name}`;
    const lines = readFileSync(join(repository, file), 'utf8').split('\n');
    const blocks: Block[] = [];
    lines.forEach((text, index) => {
      if (text.trim() !== '```bash sandbox') return;
      const end = lines.findIndex((candidate, at) => at > index && candidate.trim() === '```');
      blocks.push({ file, line: index + 1, script: lines.slice(index + 1, end).join('\n') });
    });
    return blocks;
  });
}

const blocks = sandboxBlocks();

describe('README and docs commands, run against a started sandbox', () => {
  let child: ChildProcess;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'readme-'));
    mkdirSync(join(work, '.sandbox'));
    child = spawn(process.execPath, ['--import', 'tsx', 'dev/start.ts', '--in-memory', '--port', '0'], {
      cwd: repository,
      env: { ...process.env, SANDBOX_DIR: join(work, '.sandbox'), AzureWebJobsStorage: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await new Promise<void>((ready, failed) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('sandbox is running')) ready();
      });
      child.once('exit', (code) => failed(new Error(`npm start exited early (${code ?? 'null'}):\n${output}`)));
    });
  }, 60_000);

  afterAll(async () => {
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGINT');
    await exited;
    rmSync(work, { recursive: true, force: true });
  });

  it('finds the marked blocks (the README has at least three)', () => {
    expect(blocks.filter((block) => block.file === 'README.md').length).toBeGreaterThanOrEqual(3);
  });

  it.each(blocks.map((block) => [`${block.file}:${block.line}`, block] as const))(
    '%s exits 0',
    (_where, block) => {
      // `npm run` works from the repository; everything else from a directory with the sandbox's `.sandbox/`.
      const script = `set -euo pipefail\nnpm() { (cd "$REPOSITORY" && command npm "$@"); }\n${block.script}\n`;
      const result = spawnSync('bash', ['-c', script], {
        cwd: work,
        env: { ...process.env, REPOSITORY: repository, SANDBOX_DIR: join(work, '.sandbox') },
        encoding: 'utf8',
        timeout: 90_000,
      });

      expect(result.status, `${block.file}:${block.line}\n${result.stdout}\n${result.stderr}`).toBe(0);
    },
    120_000,
  );
});
