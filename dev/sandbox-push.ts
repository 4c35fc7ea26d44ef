/**
 * `npm run sandbox:push -- team-a/app:v2 [--platform linux/amd64|linux/arm64|index]`: builds a small test image (no
 * Docker needed) and pushes it to the running sandbox's registry with skopeo, as a person or a pipeline would push one.
 * Reads `.sandbox/sandbox.json` (or `$SANDBOX_DIR/sandbox.json`, as `npm start` writes it). Prints the digest.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { buildTestImage, type TestImageKind } from './emulator/registry/content.js';
import { writeOciLayout } from './oci-layout.js';
import type { SandboxFile } from './sandbox-file.js';

const platforms: readonly TestImageKind[] = ['linux/amd64', 'linux/arm64', 'index'];

function fail(message: string): never {
  process.stderr.write(`sandbox:push: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { platform: { type: 'string', default: 'linux/amd64' } },
  });
  const reference = positionals[0];
  const match =
    reference === undefined ? null : /^([a-z0-9][a-z0-9._/-]*):([A-Za-z0-9_][A-Za-z0-9._-]{0,127})$/.exec(reference);
  if (match === null)
    fail('usage: npm run sandbox:push -- <repository>:<tag> [--platform linux/amd64|linux/arm64|index]');
  const [, repository, tag] = match as unknown as [string, string, string];
  const platform = values.platform as TestImageKind;
  if (!platforms.includes(platform)) fail(`--platform must be one of ${platforms.join(', ')}`);

  const file = join(resolve(process.env.SANDBOX_DIR ?? '.sandbox'), 'sandbox.json');
  let sandbox: SandboxFile;
  try {
    sandbox = JSON.parse(await readFile(file, 'utf8')) as SandboxFile;
  } catch {
    fail(`no ${file}: start the sandbox first (npm start)`);
  }
  const registry = sandbox.registries[0];
  if (registry === undefined) fail(`${file} lists no registry`);

  // A unique label, so every push is a new digest (as a new build would be).
  const label = `${repository}:${tag}:${new Date().toISOString()}`;
  const built = buildTestImage(platform, label);
  const work = await mkdtemp(join(tmpdir(), 'sandbox-push-'));
  try {
    await writeOciLayout(join(work, 'layout'), built, tag);
    // Own HOME, so a developer's auth.json and registries.conf play no part.
    await promisify(execFile)(
      'skopeo',
      [
        '--insecure-policy',
        'copy',
        ...(platform === 'index' ? ['--all'] : []),
        '--dest-tls-verify=false',
        `--dest-creds=${registry.username}:${registry.password}`,
        `oci:${join(work, 'layout')}:${tag}`,
        `docker://${registry.pushAddress}/${repository}:${tag}`,
      ],
      { env: { ...process.env, HOME: work, XDG_RUNTIME_DIR: work, XDG_CONFIG_HOME: work }, timeout: 60_000 },
    );
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    // Never the error's message: it quotes the command line, registry password included.
    const stderr = (error as { stderr?: string }).stderr?.trim() ?? '';
    fail(missing ? 'skopeo is not installed (Debian: apt-get install skopeo)' : `skopeo failed: ${stderr}`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  process.stdout.write(`${built.digest}\n`);
}

await main();
