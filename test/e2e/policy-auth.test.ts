import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyHistoryEntry } from '../../lib/policy/ports.js';
import { sandboxAdminPrincipal } from '../../dev/sandbox-file.js';
import { adminPrincipal, principalIds, readerPrincipal, writerPrincipal } from '../support/principals.js';
import { hostKeys, SandboxHarness, settled, type HostProcess } from '../support/sandbox-harness.js';

interface Problem {
  readonly detail: string;
  readonly errors?: ReadonlyArray<{ field: string; reason: string }>;
}

interface Route {
  readonly name: string;
  readonly method: string;
  readonly path: () => string;
  readonly body?: () => unknown;
  readonly headers?: () => Record<string, string>;
  readonly needs: 'Streaming.Read' | 'Streaming.Write';
}

const repository = 'auth/app';
const ownedScope = 'auth/owned';
const writerA = { id: '00000000-0000-0000-0000-0000000000a7', name: 'writer-a@example.test' };
const writerB = { id: '00000000-0000-0000-0000-0000000000b7', name: 'writer-b@example.test' };

/** Who may call what: function keys, caller identity, app roles and policy ownership, through the local host. */
describe('policy and conversion API authorization', () => {
  let sandbox: SandboxHarness;
  let host: HostProcess;
  let digest: string;
  let ownedEtag: string;

  /** Sends exactly the headers given (sandbox.api would add the key and the admin principal); null sends no key. */
  const call = (
    route: Route,
    principal: string | undefined,
    key: string | null = hostKeys.function,
  ): Promise<Response> => {
    const body = route.body?.();
    const headers: Record<string, string> = {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...route.headers?.(),
      ...(key === null ? {} : { 'x-functions-key': key }),
      ...(principal === undefined ? {} : { 'x-ms-client-principal': principal }),
    };
    return fetch(`${host.url}/api${route.path()}`, {
      method: route.method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  };

  async function problem(response: Response, status: number): Promise<Problem> {
    const text = await response.text();
    expect(response.status, text).toBe(status);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    return JSON.parse(text) as Problem;
  }

  async function readPolicy(scope: string): Promise<{ etag: string; owners: string[] }> {
    const response = await sandbox.api(host, `/registries/sandbox/policies/${scope}`);
    expect(response.status).toBe(200);
    return {
      etag: response.headers.get('etag')!,
      owners: ((await response.json()) as { policy: { owners: string[] } }).policy.owners,
    };
  }

  async function history(scope: string): Promise<PolicyHistoryEntry[]> {
    const response = await sandbox.api(host, `/registries/sandbox/policy-history/${scope}`);
    expect(response.status).toBe(200);
    return ((await response.json()) as { items: PolicyHistoryEntry[] }).items;
  }

  const routes: Route[] = [
    { name: 'list policies', method: 'GET', path: () => '/registries/sandbox/policies', needs: 'Streaming.Read' },
    {
      name: 'get policy',
      method: 'GET',
      path: () => `/registries/sandbox/policies/${ownedScope}`,
      needs: 'Streaming.Read',
    },
    {
      name: 'policy history',
      method: 'GET',
      path: () => `/registries/sandbox/policy-history/${ownedScope}`,
      needs: 'Streaming.Read',
    },
    {
      name: 'evaluate policy',
      method: 'POST',
      path: () => '/registries/sandbox/policy-evaluation',
      body: () => ({ repository, tag: 'v1' }),
      needs: 'Streaming.Read',
    },
    {
      name: 'create policy',
      method: 'PUT',
      path: () => '/registries/sandbox/policies/auth/created-by-anyone',
      body: () => ({ mode: 'off' }),
      needs: 'Streaming.Write',
    },
    {
      name: 'replace policy',
      method: 'PUT',
      path: () => `/registries/sandbox/policies/${ownedScope}`,
      body: () => ({ mode: 'off', owners: [writerA.id] }),
      headers: () => ({ 'if-match': ownedEtag }),
      needs: 'Streaming.Write',
    },
    {
      name: 'patch policy',
      method: 'PATCH',
      path: () => `/registries/sandbox/policies/${ownedScope}`,
      body: () => ({ description: 'x' }),
      headers: () => ({ 'if-match': ownedEtag }),
      needs: 'Streaming.Write',
    },
    {
      name: 'delete policy',
      method: 'DELETE',
      path: () => `/registries/sandbox/policies/${ownedScope}`,
      headers: () => ({ 'if-match': ownedEtag }),
      needs: 'Streaming.Write',
    },
    { name: 'list conversions', method: 'GET', path: () => '/registries/sandbox/conversions', needs: 'Streaming.Read' },
    {
      name: 'get conversion',
      method: 'GET',
      path: () => `/registries/sandbox/conversions/${digest}?repository=${repository}`,
      needs: 'Streaming.Read',
    },
    {
      name: 'start conversion',
      method: 'POST',
      path: () => '/registries/sandbox/conversions',
      body: () => ({ repository, digest }),
      needs: 'Streaming.Write',
    },
    {
      name: 'cancel conversion',
      method: 'POST',
      path: () => `/registries/sandbox/conversions/${digest}/cancel?repository=${repository}`,
      needs: 'Streaming.Write',
    },
  ];
  const reads = routes.filter((route) => route.needs === 'Streaming.Read');
  const writes = routes.filter((route) => route.needs === 'Streaming.Write');

  beforeAll(async () => {
    sandbox = await SandboxHarness.start({ storageConnectionString: inject('storageConnectionString') });
    host = await sandbox.startHost();
    digest = await sandbox.push(repository, 'v1');
    await sandbox.waitForConversion(host, repository, digest, settled);
    const created = await sandbox.api(host, `/registries/sandbox/policies/${ownedScope}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode: 'off', owners: [writerA.id] }),
    });
    expect(created.status).toBe(201);
    ownedEtag = created.headers.get('etag')!;
  });
  afterAll(() => sandbox.close());

  it.each(routes.map((route) => [route.name, route] as const))(
    '%s: 401 without a function key or with a wrong one, whoever the caller',
    async (_name, route) => {
      const missing = await problem(await call(route, sandboxAdminPrincipal(), null), 401);
      const wrong = await problem(await call(route, sandboxAdminPrincipal(), 'not-the-key'), 401);

      expect(missing.detail).toMatch(/function key is missing/);
      expect(wrong.detail).toMatch(/function key is invalid/);
    },
  );

  it.each(routes.map((route) => [route.name, route] as const))(
    '%s: 401 with a key but no caller identity',
    async (_name, route) => {
      const answer = await problem(await call(route, undefined), 401);

      expect(answer.errors).toEqual([{ field: 'headers.x-ms-client-principal', reason: 'missing or invalid' }]);
    },
  );

  it.each(reads.map((route) => [route.name, route] as const))(
    '%s: 200 for a reader, a writer and an admin',
    async (_name, route) => {
      for (const principal of [readerPrincipal(), writerPrincipal(writerB.id, writerB.name), adminPrincipal()]) {
        const response = await call(route, principal);
        expect(response.status, await response.text()).toBe(200);
      }
    },
  );

  it.each(writes.map((route) => [route.name, route] as const))(
    '%s: 403 for a reader, naming the missing role',
    async (_name, route) => {
      const answer = await problem(await call(route, readerPrincipal()), 403);

      expect(answer.detail).toMatch(/lacks the app role Streaming\.Write/);
      expect(answer.errors).toEqual([{ field: 'roles', reason: 'requires Streaming.Write' }]);
    },
  );

  it("a reader's refused write changes nothing and is in the history, with who and why", async () => {
    const answer = await problem(
      await call(
        routes.find((route) => route.name === 'patch policy')!,
        readerPrincipal(),
      ),
      403,
    );

    expect(answer.errors).toEqual([{ field: 'roles', reason: 'requires Streaming.Write' }]);
    expect(await readPolicy(ownedScope)).toEqual({ etag: ownedEtag, owners: [writerA.id] });
    expect((await history(ownedScope)).filter((entry) => entry.outcome === 'applied')).toHaveLength(1);
    expect((await history(ownedScope))[0]).toMatchObject({
      action: 'patch',
      outcome: 'forbidden',
      principal: principalIds.reader,
      reason: 'requires Streaming.Write',
    });
    await problem(await sandbox.api(host, '/registries/sandbox/policies/auth/created-by-anyone'), 404);
  });

  it('a writer may start and cancel conversions, and so may an admin; the row says who asked', async () => {
    for (const [principal, id] of [
      [writerPrincipal(writerB.id, writerB.name), writerB.id],
      [adminPrincipal(), principalIds.admin],
    ] as const) {
      const started = await call(
        routes.find((route) => route.name === 'start conversion')!,
        principal,
      );
      const startedText = await started.text();
      expect(started.status, startedText).toBe(202);
      expect(JSON.parse(startedText)).toMatchObject({ requestedBy: id });
      const canceled = await call(
        routes.find((route) => route.name === 'cancel conversion')!,
        principal,
      );
      const canceledText = await canceled.text();
      expect(canceled.status, canceledText).toBe(200);
      // The image converted long ago, so there is nothing to cancel; who cancels a running one: lifecycle unit test.
      expect(JSON.parse(canceledText)).not.toHaveProperty('canceledBy');
    }
  });

  it('audit and report runs by hand record who asked (issue #17 § 2)', async () => {
    const writer = writerPrincipal(writerB.id, writerB.name);
    const post = (path: string, body: unknown): Promise<Response> =>
      fetch(`${host.url}/api${path}`, {
        method: 'POST',
        headers: {
          'x-functions-key': hostKeys.function,
          'x-ms-client-principal': writer,
          'content-type': 'application/json',
        },
        body: JSON.stringify(body),
      });

    const audit = await post('/audits', { registry: 'sandbox' });
    expect(audit.status, await audit.clone().text()).toBe(202);
    const { runs } = (await audit.json()) as { runs: Array<{ runId: string }> };
    const listed = await sandbox.api(host, '/audits?registry=sandbox');
    const recent = ((await listed.json()) as { items: Array<{ runId: string; requestedBy?: string }> }).items;
    expect(recent.find((run) => run.runId === runs[0]!.runId)).toMatchObject({ requestedBy: writerB.id });

    const report = await post('/reports', { registries: ['sandbox'] });
    expect(report.status, await report.clone().text()).toBe(202);
    const latest = await sandbox.api(host, '/reports/latest?format=json');
    expect(await latest.json()).toMatchObject({ requestedBy: writerB.id });
  });

  it('a writer who is not an owner may not replace, patch or delete the policy, nor create one over the default', async () => {
    const writer = writerPrincipal(writerB.id, writerB.name);

    for (const name of ['replace policy', 'patch policy', 'delete policy']) {
      const answer = await problem(
        await call(
          routes.find((route) => route.name === name)!,
          writer,
        ),
        403,
      );
      expect(answer.errors, name).toEqual([{ field: 'owners', reason: 'caller is not an owner' }]);
      expect(answer.detail).toContain(`owners: ${writerA.id}`);
    }
    const create = await problem(
      await call(
        routes.find((route) => route.name === 'create policy')!,
        writer,
      ),
      403,
    );
    // auth/created-by-anyone is the registry default's: only an admin hands out what nobody owns (issue #17 § 1).
    expect(create.errors).toEqual([
      { field: 'params.scope', reason: 'would take over _default, not owned by the caller' },
    ]);
    expect(await readPolicy(ownedScope)).toEqual({ etag: ownedEtag, owners: [writerA.id] });
    const refused = (await history(ownedScope)).filter((entry) => entry.principal === writerB.id);
    expect(refused.map((entry) => [entry.action, entry.outcome, entry.reason])).toEqual([
      ['delete', 'forbidden', 'caller is not an owner'],
      ['patch', 'forbidden', 'caller is not an owner'],
      ['replace', 'forbidden', 'caller is not an owner'],
    ]);
  });

  it('issue #17 § 1: the owners of a namespace stay in charge of it, whatever a writer outside it creates', async () => {
    const owner = writerPrincipal(writerA.id, writerA.name);
    const outsider = writerPrincipal(writerB.id, writerB.name);
    const send = (scope: string, principal: string, body: unknown): Promise<Response> =>
      sandbox.api(host, `/registries/sandbox/policies/${scope}`, {
        method: 'PUT',
        headers: { 'x-ms-client-principal': principal, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const governing = async (repository: string): Promise<string> => {
      const response = await sandbox.api(host, '/registries/sandbox/policy-evaluation', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ repository, tag: 'v1' }),
      });
      return ((await response.json()) as { scope: string }).scope;
    };
    const admin = await send('team-own/**', adminPrincipal(), { mode: 'onPush', owners: [writerA.id] });
    expect(admin.status).toBe(201);

    // The bypass the review found: an outsider claiming one repository, a sibling glob, or the default.
    for (const scope of ['team-own/app', 'team-own/app-*', '_default', '**']) {
      const refused = await send(scope, outsider, { mode: 'off', owners: [writerB.id] });
      expect(refused.status, scope).toBe(403);
    }
    expect(await governing('team-own/app')).toBe('team-own/**');

    // The owner divides their namespace, and owns what they create.
    const created = await send('team-own/app', owner, { mode: 'off' });
    expect(created.status, await created.clone().text()).toBe(201);
    expect(((await created.json()) as { policy: { owners: string[] } }).policy.owners).toEqual([writerA.id]);
    expect(await governing('team-own/app')).toBe('team-own/app');
  });

  it('an owner writer may replace, patch and delete its policy, and create one naming itself (by object id or name)', async () => {
    const owner = writerPrincipal(writerA.id, writerA.name);
    const other = writerPrincipal(writerB.id, writerB.name);
    const send = (scope: string, method: string, principal: string, body?: unknown, etag?: string): Promise<Response> =>
      sandbox.api(host, `/registries/sandbox/policies/${scope}`, {
        method,
        headers: {
          'x-ms-client-principal': principal,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(etag ? { 'if-match': etag } : {}),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });

    const replaced = await send(
      ownedScope,
      'PUT',
      owner,
      { mode: 'onPush', owners: [writerA.id, writerB.name.toUpperCase()] },
      ownedEtag,
    );
    expect(replaced.status, await replaced.clone().text()).toBe(200);
    // writer B is an owner now, by its name (compared case-insensitively).
    const patched = await send(ownedScope, 'PATCH', other, { description: 'by b' }, replaced.headers.get('etag')!);
    expect(patched.status, await patched.clone().text()).toBe(200);
    const deleted = await send(ownedScope, 'DELETE', owner, undefined, patched.headers.get('etag')!);
    expect(deleted.status).toBe(204);
    expect(
      (await history(ownedScope))
        .filter((entry) => entry.outcome === 'applied')
        .map((entry) => [entry.action, entry.principal]),
    ).toEqual([
      ['delete', writerA.id],
      ['patch', writerB.id],
      ['replace', writerA.id],
      ['create', '00000000-0000-0000-0000-00000000ad01'],
    ]);

    // A namespace an admin handed to writer B is B's to divide; A may not delete what B made there.
    const handed = await send('auth/b/**', 'PUT', adminPrincipal(), { mode: 'off', owners: [writerB.name] });
    expect(handed.status).toBe(201);
    const own = await send('auth/b/own', 'PUT', other, { mode: 'off', owners: [writerB.name] });
    expect(own.status, await own.clone().text()).toBe(201);
    expect(await own.json()).toMatchObject({ createdBy: writerB.id });
    expect((await send('auth/b/own', 'DELETE', owner)).status).toBe(403);
    expect((await send('auth/b/own', 'DELETE', other)).status).toBe(204);
  });

  it('an admin may change any policy and create one without owners', async () => {
    const admin = adminPrincipal();
    const send = (method: string, body?: unknown, etag?: string): Promise<Response> =>
      sandbox.api(host, '/registries/sandbox/policies/auth/admin-made', {
        method,
        headers: {
          'x-ms-client-principal': admin,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(etag ? { 'if-match': etag } : {}),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });

    const created = await send('PUT', { mode: 'off', owners: ['someone-else'] });
    expect(created.status).toBe(201);
    const patched = await send('PATCH', { description: 'admin' }, created.headers.get('etag')!);
    expect(patched.status).toBe(200);
    const replaced = await send('PUT', { mode: 'onPush' }, patched.headers.get('etag')!);
    expect(replaced.status).toBe(200);
    expect((await send('DELETE', undefined, replaced.headers.get('etag')!)).status).toBe(204);
    expect(
      (await history('auth/admin-made')).every(
        (entry) => entry.principal === principalIds.admin && entry.outcome === 'applied',
      ),
    ).toBe(true);
  });

  describe('on a host that does not trust caller-supplied principals', () => {
    let untrusted: SandboxHarness;
    let strict: HostProcess;

    beforeAll(async () => {
      untrusted = await SandboxHarness.start({
        storageConnectionString: inject('storageConnectionString'),
        settings: { LOCAL_HOST_TRUST_CLIENT_PRINCIPAL: 'false' },
      });
      strict = await untrusted.startHost({ subscribe: false });
    });
    afterAll(() => untrusted.close());

    it.each(routes.map((route) => [route.name, route] as const))(
      '%s: 401 even with the admin principal, which the host strips',
      async (_name, route) => {
        const body = route.body?.();
        const response = await untrusted.api(strict, route.path(), {
          method: route.method,
          headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...route.headers?.() },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });

        const answer = await problem(response, 401);
        // The host says the header was dropped, and why (issue #17 § 6).
        expect(answer.errors).toEqual([
          {
            field: 'headers.x-ms-client-principal',
            reason: 'dropped by the local host: LOCAL_HOST_TRUST_CLIENT_PRINCIPAL is not "true"',
          },
        ]);
      },
    );
  });
});
