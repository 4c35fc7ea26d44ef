import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { policyApiVersion } from '../../lib/policy/model.js';
import type { PolicyHistoryEntry } from '../../lib/policy/ports.js';
import type { PolicyResource } from '../../lib/policy/service.js';
import { SandboxHarness, settled, type HostProcess } from '../support/sandbox-harness.js';

interface Problem {
  readonly status: number;
  readonly detail: string;
  readonly errors?: ReadonlyArray<{ field: string; reason: string }>;
}

const adminId = '00000000-0000-0000-0000-00000000ad01';

/** A scope in a URL: each segment percent-encoded (so `?` and `[` survive), slashes kept. */
function policyPath(scope: string, registry = 'sandbox'): string {
  return `/registries/${registry}/policies/${scope.split('/').map(encodeURIComponent).join('/')}`;
}

/** Policy routes through the local host, as the sandbox admin unless headers say otherwise. */
describe('policy API', () => {
  let sandbox: SandboxHarness;
  let host: HostProcess;

  beforeAll(async () => {
    sandbox = await SandboxHarness.start({ storageConnectionString: inject('storageConnectionString') });
    host = await sandbox.startHost();
  });
  afterAll(() => sandbox.close());

  const send = (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Response> =>
    sandbox.api(host, path, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });

  async function problem(response: Response, status: number): Promise<Problem> {
    const text = await response.text();
    expect(response.status, text).toBe(status);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    return JSON.parse(text) as Problem;
  }

  async function created(scope: string, body: unknown): Promise<string> {
    const response = await send('PUT', policyPath(scope), body, { 'if-none-match': '*' });
    expect(response.status, await response.clone().text()).toBe(201);
    return response.headers.get('etag')!;
  }

  async function history(scope: string): Promise<PolicyHistoryEntry[]> {
    const response = await send(
      'GET',
      `/registries/sandbox/policy-history/${scope.split('/').map(encodeURIComponent).join('/')}`,
    );
    expect(response.status).toBe(200);
    return ((await response.json()) as { items: PolicyHistoryEntry[] }).items;
  }

  it('round-trips every route: create, read, list, replace, patch, history, evaluate, delete', async () => {
    const scope = 'roundtrip/**';

    const put = await send(
      'PUT',
      policyPath(scope),
      { apiVersion: policyApiVersion, mode: 'onPush', tags: { include: ['v*'] }, owners: ['team-rt'] },
      { 'if-none-match': '*' },
    );
    expect(put.status).toBe(201);
    const etag1 = put.headers.get('etag')!;
    expect(etag1).toMatch(/^W\/"datetime'.+'"$/);
    const resource = (await put.json()) as PolicyResource;
    expect(resource).toMatchObject({
      apiVersion: policyApiVersion,
      registry: 'sandbox',
      scope,
      createdBy: adminId,
      updatedBy: adminId,
    });
    expect(resource.policy).toMatchObject({
      mode: 'onPush',
      tags: { include: ['v*'], exclude: [] },
      untagged: false,
      maxImageSizeGiB: 30,
      retry: { maxAttempts: 3 },
      owners: ['team-rt'],
      description: '',
    });

    const get = await send('GET', policyPath(scope));
    expect(get.status).toBe(200);
    expect(get.headers.get('etag')).toBe(etag1);
    expect(await get.json()).toEqual(resource);

    const replaced = await send(
      'PUT',
      policyPath(scope),
      { mode: 'onPush', tags: { include: ['v*'], exclude: ['*-rc'] }, owners: ['team-rt'] },
      { 'if-match': etag1 },
    );
    expect(replaced.status).toBe(200);
    const etag2 = replaced.headers.get('etag')!;
    expect(etag2).not.toBe(etag1);
    expect(((await replaced.json()) as PolicyResource).policy.tags.exclude).toEqual(['*-rc']);

    const patched = await send(
      'PATCH',
      policyPath(scope),
      { description: 'patched', tags: { exclude: null } },
      { 'content-type': 'application/merge-patch+json', 'if-match': etag2 },
    );
    expect(patched.status).toBe(200);
    const etag3 = patched.headers.get('etag')!;
    expect(((await patched.json()) as PolicyResource).policy).toMatchObject({
      description: 'patched',
      tags: { include: ['v*'], exclude: [] },
      owners: ['team-rt'],
    });

    const listed = await send('GET', '/registries/sandbox/policies');
    expect(listed.status).toBe(200);
    const items = ((await listed.json()) as { items: Array<PolicyResource & { etag: string }> }).items;
    expect(items.find((item) => item.scope === scope)).toMatchObject({
      etag: etag3,
      policy: { description: 'patched' },
    });

    const evaluation = await send('POST', '/registries/sandbox/policy-evaluation', {
      repository: 'roundtrip/app',
      tag: 'v2',
    });
    expect(evaluation.status).toBe(200);
    expect(await evaluation.json()).toMatchObject({
      decision: { eligible: true },
      scope,
      candidates: expect.arrayContaining([scope]) as unknown,
    });

    const deleted = await send('DELETE', policyPath(scope), undefined, { 'if-match': etag3 });
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe('');
    await problem(await send('GET', policyPath(scope)), 404);

    const trail = await history(scope);
    expect(trail.map((entry) => [entry.action, entry.outcome])).toEqual([
      ['delete', 'applied'],
      ['patch', 'applied'],
      ['replace', 'applied'],
      ['create', 'applied'],
    ]);
    expect(trail.every((entry) => entry.principal === adminId && entry.scope === scope)).toBe(true);
    expect(trail[0]).toMatchObject({ before: { description: 'patched' } });
    expect(trail[0]!.after).toBeUndefined();
  });

  it('pages the list with pageSize and continuationToken', async () => {
    for (const name of ['paging/a', 'paging/b', 'paging/c']) await created(name, { mode: 'off' });

    const scopes: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const response = await send(
        'GET',
        `/registries/sandbox/policies?pageSize=2${token ? `&continuationToken=${encodeURIComponent(token)}` : ''}`,
      );
      expect(response.status).toBe(200);
      const page = (await response.json()) as { items: PolicyResource[]; continuationToken?: string };
      expect(page.items.length).toBeLessThanOrEqual(2);
      scopes.push(...page.items.map((item) => item.scope));
      token = page.continuationToken;
      pages++;
    } while (token !== undefined && pages < 20);

    expect(pages).toBeGreaterThanOrEqual(2);
    expect(scopes).toEqual(expect.arrayContaining(['paging/a', 'paging/b', 'paging/c']));
    expect(new Set(scopes).size).toBe(scopes.length);
    expect((await problem(await send('GET', '/registries/sandbox/policies?pageSize=0'), 400)).errors).toEqual([
      expect.objectContaining({ field: 'query.pageSize' }),
    ]);
    for (const garbage of ['garbage', 'eyJ4Ijox', Buffer.from('{"nextPartitionKey": 1}').toString('base64')]) {
      const list = await send('GET', `/registries/sandbox/policies?continuationToken=${encodeURIComponent(garbage)}`);
      const trail = await send(
        'GET',
        `/registries/sandbox/policy-history/paging/a?continuationToken=${encodeURIComponent(garbage)}`,
      );
      expect([list.status, trail.status], `${garbage}: ${await list.text()} ${await trail.text()}`).toEqual([400, 400]);
    }
  });

  it('applies the most specific scope, and evaluation says which one and what else matched', async () => {
    await created('_default', { mode: 'onPush' });
    await created('team-a/**', { mode: 'onPush', tags: { exclude: ['*-dev'] } });
    await created('team-a/app', { mode: 'off' });
    const evaluate = async (body: Record<string, unknown>) => {
      const response = await send('POST', '/registries/sandbox/policy-evaluation', body);
      expect(response.status, await response.clone().text()).toBe(200);
      return response.json() as Promise<{
        decision: { eligible: boolean; skip?: string; reason: string };
        scope: string;
        policy: { mode: string };
        candidates: string[];
        image: { source: string };
      }>;
    };

    const exact = await evaluate({ repository: 'team-a/app', tag: 'v1' });
    const glob = await evaluate({ repository: 'team-a/web', tag: 'v1-dev' });
    const fallback = await evaluate({ repository: 'team-b/web', tag: 'v1-dev' });

    expect(exact).toMatchObject({
      scope: 'team-a/app',
      policy: { mode: 'off' },
      decision: { eligible: false, skip: 'policy-off' },
      candidates: ['team-a/app', 'team-a/**', '_default'],
    });
    expect(glob).toMatchObject({
      scope: 'team-a/**',
      decision: { eligible: false, skip: 'tag-excluded' },
      candidates: ['team-a/**', '_default'],
    });
    expect(glob.decision.reason).toContain('v1-dev');
    expect(fallback).toMatchObject({ scope: '_default', decision: { eligible: true }, candidates: ['_default'] });
    expect(await evaluate({ repository: 'team-a/web', tag: 'v1', platform: 'linux/arm64' })).toMatchObject({
      scope: 'team-a/**',
      decision: { skip: 'unsupported-platform' },
    });
    expect(await evaluate({ repository: 'team-a/web', tag: 'v1', sizeBytes: 31 * 1024 ** 3 })).toMatchObject({
      decision: { skip: 'too-large' },
    });
    // An image the registry holds is decided on as it is (issue #18 § 6): an arm64-only push is skipped for its
    // platform although the request (as before) says nothing of one.
    await sandbox.push('team-a/arm-real', 'v1', 'linux/arm64');
    expect(await evaluate({ repository: 'team-a/arm-real', tag: 'v1' })).toMatchObject({
      decision: { skip: 'unsupported-platform' },
      image: { source: 'registry', kind: 'image', platforms: ['linux/arm64'] },
    });
    expect(
      (
        await problem(
          await send('POST', '/registries/sandbox/policy-evaluation', { repository: 'team-a/web', platform: 'linux' }),
          400,
        )
      ).errors,
    ).toEqual([expect.objectContaining({ field: 'body.platform' })]);
  });

  it('lets exactly one of two concurrent PATCHes with the same ETag win, and records both attempts', async () => {
    const scope = 'race/app';
    const etag = await created(scope, { mode: 'off' });

    const responses = await Promise.all(
      ['first', 'second'].map((description) =>
        send(
          'PATCH',
          policyPath(scope),
          { description },
          { 'content-type': 'application/merge-patch+json', 'if-match': etag },
        ),
      ),
    );

    expect(responses.map((response) => response.status).sort()).toEqual([200, 412]);
    const winner = responses.find((response) => response.status === 200)!;
    const loser = responses.find((response) => response.status === 412)!;
    expect((await problem(loser, 412)).detail).toMatch(/changed since you read it/);
    const won = (await winner.json()) as PolicyResource;
    const current = await send('GET', policyPath(scope));
    expect(current.headers.get('etag')).toBe(winner.headers.get('etag'));
    expect(((await current.json()) as PolicyResource).policy.description).toBe(won.policy.description);
    const trail = await history(scope);
    expect(
      trail
        .filter((entry) => entry.action === 'patch')
        .map((entry) => entry.outcome)
        .sort(),
    ).toEqual(['applied', 'precondition-failed']);
    expect(trail.at(-1)).toMatchObject({ action: 'create', outcome: 'applied' });
  });

  it('guards replacement with preconditions: 428 without If-Match, 412 on If-None-Match: * or a stale ETag', async () => {
    const scope = 'guarded/app';
    const etag = await created(scope, { mode: 'off' });

    const required = await problem(await send('PUT', policyPath(scope), { mode: 'onPush' }), 428);
    expect(required.errors).toEqual([{ field: 'headers.if-match', reason: 'required to replace' }]);
    await problem(await send('PUT', policyPath(scope), { mode: 'onPush' }, { 'if-none-match': '*' }), 412);
    await problem(await send('PATCH', policyPath(scope), { mode: 'onPush' }), 428);
    const fresh = await send('PUT', policyPath(scope), { mode: 'onPush' }, { 'if-match': etag });
    expect(fresh.status).toBe(200);
    await problem(await send('PUT', policyPath(scope), { mode: 'off' }, { 'if-match': etag }), 412);
    await problem(await send('DELETE', policyPath(scope), undefined, { 'if-match': etag }), 412);
    await problem(await send('PUT', policyPath('guarded/absent'), { mode: 'off' }, { 'if-match': etag }), 412);
    await problem(await send('PATCH', policyPath('guarded/absent'), { mode: 'off' }, { 'if-match': etag }), 404);
    await problem(await send('DELETE', policyPath('guarded/absent')), 404);
    // `If-Match: *` names no version (issue #17 § 3): a change must say which one it replaces; nothing to match: 412.
    for (const method of ['PUT', 'PATCH'] as const) {
      const blind = await problem(await send(method, policyPath(scope), { mode: 'off' }, { 'if-match': '*' }), 428);
      expect(blind.errors).toEqual([{ field: 'headers.if-match', reason: '"*" is not accepted: send the ETag' }]);
    }
    await problem(await send('PUT', policyPath('guarded/star'), { mode: 'off' }, { 'if-match': '*' }), 412);

    expect(((await (await send('GET', policyPath(scope))).json()) as PolicyResource).policy.mode).toBe('onPush');
  });

  it('rejects bad bodies and requests with the status and the field at fault', async () => {
    const scope = 'invalid/app';

    const unknown = await problem(await send('PUT', policyPath(scope), { mode: 'onPush', colour: 'red' }), 400);
    expect(unknown.errors).toEqual([{ field: 'body', reason: expect.stringContaining('colour') as unknown }]);
    const nested = await problem(await send('PUT', policyPath(scope), { tags: { includes: ['v*'] } }), 400);
    expect(nested.errors).toEqual([{ field: 'body.tags', reason: expect.stringContaining('includes') as unknown }]);
    const badValue = await problem(
      await send('PUT', policyPath(scope), { mode: 'always', retry: { maxAttempts: 0 } }),
      400,
    );
    expect(badValue.errors?.map((error) => error.field).sort()).toEqual(['body.mode', 'body.retry.maxAttempts']);
    await problem(await send('PUT', policyPath(scope), '{"mode": '), 400);
    await problem(await send('PUT', policyPath(scope), { description: 'x'.repeat(70 * 1024) }), 413);
    const mediaType = await problem(
      await send('PUT', policyPath(scope), 'mode=onPush', { 'content-type': 'text/plain' }),
      415,
    );
    expect(mediaType.errors).toEqual([{ field: 'headers.content-type', reason: 'must be application/json' }]);
    await problem(
      await send(
        'POST',
        '/registries/sandbox/policy-evaluation',
        { repository: 'a' },
        { 'content-type': 'application/x-www-form-urlencoded' },
      ),
      415,
    );
    // A literal `..` segment is resolved by URL parsing before any route sees it; encoded slashes stay encoded (as
    // Kestrel leaves %2F), so the scope holds `%2F` and is refused by the grammar.
    const badScope = await problem(
      await send('PUT', `/registries/sandbox/policies/${encodeURIComponent('team-a/../x/*')}`, { mode: 'off' }),
      400,
    );
    expect(badScope.errors).toEqual([
      { field: 'params.scope', reason: expect.stringContaining('neither a repository name nor a glob') as unknown },
    ]);
    await problem(await send('PUT', policyPath('Team-A/**'), { mode: 'off' }), 400);

    await problem(await send('GET', policyPath(scope)), 404);
    expect(await history(scope)).toEqual([]);
  });

  it('answers 404 for a registry that is not configured, on every route', async () => {
    const paths: Array<[string, string, unknown]> = [
      ['GET', '/registries/nosuch/policies', undefined],
      ['GET', policyPath('_default', 'nosuch'), undefined],
      ['PUT', policyPath('_default', 'nosuch'), { mode: 'off' }],
      ['PATCH', policyPath('_default', 'nosuch'), { mode: 'off' }],
      ['DELETE', policyPath('_default', 'nosuch'), undefined],
      ['GET', '/registries/nosuch/policy-history/_default', undefined],
      ['POST', '/registries/nosuch/policy-evaluation', { repository: 'team-a/app' }],
    ];

    for (const [method, path, body] of paths) {
      const answer = await problem(await send(method, path, body, { 'if-match': '*' }), 404);
      expect(answer.errors, `${method} ${path}`).toEqual([
        { field: 'params.registry', reason: 'not a configured registry' },
      ]);
    }
  });

  it('accepts apiVersion only when it is the current one', async () => {
    const scope = 'versioned/app';

    const old = await problem(await send('PUT', policyPath(scope), { apiVersion: '2020-01-01', mode: 'off' }), 400);
    expect(old.errors).toEqual([{ field: 'body.apiVersion', reason: `unsupported; use ${policyApiVersion}` }]);
    await problem(await send('PUT', policyPath(scope), { apiVersion: 20261101, mode: 'off' }), 400);
    const etag = await created(scope, { apiVersion: policyApiVersion, mode: 'off' });
    await problem(await send('PATCH', policyPath(scope), { apiVersion: '2020-01-01' }, { 'if-match': etag }), 400);
    const patched = await send(
      'PATCH',
      policyPath(scope),
      { apiVersion: policyApiVersion, description: 'ok' },
      { 'if-match': etag },
    );

    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ apiVersion: policyApiVersion, policy: { description: 'ok' } });
  });

  it('rejects "__proto__" in a merge patch like any unknown field, instead of applying what it carries', async () => {
    const scope = 'proto/app';
    const etag = await created(scope, { mode: 'off' });

    const answer = await problem(
      await send('PATCH', policyPath(scope), '{"mode": null, "__proto__": {"mode": "onPush"}}', { 'if-match': etag }),
      400,
    );

    expect(answer.errors).toEqual([{ field: 'body', reason: expect.stringContaining('__proto__') as unknown }]);
    expect(((await (await send('GET', policyPath(scope))).json()) as PolicyResource).policy.mode).toBe('off');
  });

  it('refuses a merge patch nested deeper than any policy with 400, not a stack overflow', async () => {
    const scope = 'deep/app';
    const etag = await created(scope, { mode: 'off' });
    const depth = 8_000;

    const answer = await problem(
      await send('PATCH', policyPath(scope), `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`, { 'if-match': etag }),
      400,
    );

    expect(answer.errors).toEqual([{ field: 'body', reason: 'nested deeper than 16 levels' }]);
    expect((await history(scope)).map((entry) => entry.action)).toEqual(['create']);
  });

  it("drives the pipeline: a push skipped by the repository's stored policy names that scope", async () => {
    const repository = 'pipeline/app';
    await created(repository, { mode: 'onPush', tags: { include: ['*'], exclude: ['v1'] } });
    // The PUT invalidated this host's policy cache; a host that had cached the registry's policies would need up to 15
    // s.
    const excluded = await sandbox.push(repository, 'v1');
    const included = await sandbox.push(repository, 'v2');

    const skipped = await sandbox.waitForConversion(host, repository, excluded, settled);
    const converted = await sandbox.waitForConversion(host, repository, included, settled);

    expect(skipped).toMatchObject({ status: 'Skipped', skipReason: 'tag-excluded', policyScope: repository });
    expect(converted).toMatchObject({ status: 'Succeeded', policyScope: repository });
    expect(await sandbox.conversionPosts(repository, excluded)).toBe(0);
  });

  it("issue #15: a native glob holds for a repository created later: its first push converts and turns ACR's switch on; the next is ACR's, followed; leaving native turns it off", async () => {
    const repository = 'team-x/newrepo';
    const etag = await created('team-x/**', { mode: 'native' });
    const control = sandbox.emulator.control;

    const first = await sandbox.push(repository, 'v1');
    const converted = await sandbox.waitForConversion(host, repository, first, settled);
    const second = await sandbox.push(repository, 'v2');
    const followed = await sandbox.waitForConversion(host, repository, second, settled);

    expect(converted).toMatchObject({ status: 'Succeeded', policyScope: 'team-x/**' });
    expect(await sandbox.conversionPosts(repository, first)).toBe(1);
    const switchedOn = await control.requests({ method: 'POST', path: `^/acr/v1/${repository}/_streaming$` });
    expect(switchedOn).toHaveLength(1);
    expect(switchedOn[0]!.status).toBeGreaterThanOrEqual(200);
    expect(switchedOn[0]!.status).toBeLessThan(300);
    // The second push is ACR's own (the emulator converts pushes once the switch is on): the app follows ACR's
    // operation to its end, with no POST of its own.
    expect(followed).toMatchObject({ status: 'Succeeded', policyScope: 'team-x/**' });
    expect(await sandbox.conversionPosts(repository, second)).toBe(0);
    const operations = await control.listOperations('sandbox');
    expect(operations.filter((operation) => operation.digest === second)).toHaveLength(1);
    expect(followed.operationId).toBe(operations.find((operation) => operation.digest === second)!.id);
    expect(acrSwitch(repository)).toBe(true);

    // Leaving native turns the switch off on every repository the scope governs, this later one included.
    const leaving = await send('PUT', policyPath('team-x/**'), { mode: 'onPush' }, { 'if-match': etag });
    expect(leaving.status, await leaving.clone().text()).toBe(200);
    await expect.poll(() => acrSwitch(repository), { timeout: 10_000 }).toBe(false);
  });

  /** ACR's switch for a repository of the sandbox registry, as the emulator holds it. */
  function acrSwitch(repository: string): boolean | undefined {
    return sandbox.emulator.emulator.state.registry('sandbox')?.store.repository(repository)?.streaming
      .convertPushedImages;
  }
});
