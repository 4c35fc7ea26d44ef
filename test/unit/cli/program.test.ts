import { describe, expect, it } from 'vitest';
import { runCli } from '../../../cli/program.js';

/** The CLI with an in-memory world: a fake fetch answering one request, captured output. */
function world(answer: (url: URL, init: RequestInit) => Response) {
  const output = { stdout: '', stderr: '' };
  const requests: Array<{ url: URL; init: RequestInit }> = [];
  const runtime = {
    env: {
      ACR_STREAMING_URL: 'https://app.example',
      ACR_STREAMING_FUNCTION_KEY: 'sekrit',
      ACR_STREAMING_AUDIENCE: 'a',
    },
    cwd: '/nonexistent',
    stdout: { write: (text: string) => (output.stdout += text) },
    stderr: { write: (text: string) => (output.stderr += text) },
    tokenSource: () => Promise.resolve('tok3n'),
    now: () => new Date('2025-06-01T12:00:00Z'),
    fetch: (input: string | URL | Request, init?: RequestInit) => {
      const url = new URL(input instanceof Request ? input.url : input);
      requests.push({ url, init: init ?? {} });
      return Promise.resolve(answer(url, init ?? {}));
    },
  };
  return { runtime, output, requests };
}

const problem = (status: number, body: object): Response =>
  new Response(JSON.stringify({ status, ...body }), {
    status,
    headers: { 'content-type': 'application/problem+json' },
  });

describe('runCli', () => {
  it('a 4xx exits 2 with the detail and field errors on stderr, and the problem on stdout with --json', async () => {
    const { runtime, output } = world(() =>
      problem(404, {
        title: 'Not Found',
        detail: 'Registry nope is not configured.',
        errors: [{ field: 'params.registry', reason: 'not a configured registry' }],
      }),
    );

    const code = await runCli(['policy', 'list', '--registry', 'nope', '--json'], runtime);

    expect(code).toBe(2);
    expect(output.stderr).toBe(
      'error: 404 Not Found: Registry nope is not configured.\n  params.registry: not a configured registry\n',
    );
    expect(JSON.parse(output.stdout)).toMatchObject({
      status: 404,
      problem: { detail: 'Registry nope is not configured.' },
    });
  });

  it('a 5xx exits 3', async () => {
    const { runtime } = world(() => new Response('bad gateway', { status: 502 }));
    expect(await runCli(['alerts', 'list'], runtime)).toBe(3);
  });

  it('sends the key and token but --verbose shows neither', async () => {
    const { runtime, output, requests } = world(() => Response.json({ items: [] }));

    const code = await runCli(['alerts', 'list', '--verbose', '--status', 'failed'], runtime);

    expect(code).toBe(0);
    expect(requests[0]!.url.href).toBe('https://app.example/api/alerts?status=failed');
    expect(requests[0]!.init.headers).toMatchObject({ 'x-functions-key': 'sekrit', authorization: 'Bearer tok3n' });
    expect(output.stderr).toMatch(/^→ GET https:\/\/app\.example\/api\/alerts\?status=failed\n← 200/);
    expect(output.stderr + output.stdout).not.toMatch(/sekrit|tok3n/);
  });

  it('bad arguments exit 1 before any request', async () => {
    const { runtime, output, requests } = world(() => Response.json({}));

    expect(await runCli(['conversions', 'start', 'no-tag'], runtime)).toBe(1);
    expect(await runCli(['conversions', 'list', '--status', 'Done'], runtime)).toBe(1);
    expect(await runCli(['nonsense'], runtime)).toBe(1);
    expect(await runCli(['--help'], runtime)).toBe(0);
    expect(requests).toEqual([]);
    expect(output.stderr).toContain("argument 'Done' is invalid. Allowed choices are");
  });

  it("conversions start --wait shows the app's expected finish while ACR converts", async () => {
    const conversion = {
      registry: 'contoso',
      repository: 'team-a/app',
      digest: `sha256:${'a'.repeat(64)}`,
      tags: ['1.0'],
      reason: 'eligible',
      source: 'manual',
      attempts: 1,
      maxAttempts: 3,
      createdAt: '2025-06-01T12:00:00Z',
      updatedAt: '2025-06-01T12:00:00Z',
    };
    const answers = [
      {
        ...conversion,
        status: 'Running',
        operationStatus: 'Running',
        progress: '40%',
        expectedFinishAt: '2025-06-01T12:03:20Z',
      },
      {
        ...conversion,
        status: 'Succeeded',
        operationStatus: 'Succeeded',
        progress: '100%',
        expectedFinishAt: '2025-06-01T12:03:20Z',
      },
    ];
    const { runtime, output } = world(() => Response.json(answers.shift()));
    const code = await runCli(
      ['conversions', 'start', 'team-a/app:1.0', '--registry', 'contoso', '--wait', '--interval', '0.001'],
      runtime,
    );
    expect(code).toBe(0);
    expect(output.stderr).toContain('Running (ACR: Running 40%, expected to finish at 12:03:20 UTC)');
    expect(output.stderr).toMatch(/Succeeded \(ACR: Succeeded 100%\)\n/);
  });
});
