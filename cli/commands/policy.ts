import type { Command } from 'commander';
import { parseEvaluationTarget, parsePositiveInteger } from '../args.js';
import { scopePath, type ApiClient } from '../client.js';
import type { Context } from '../context.js';
import { jsonChanges, renderChanges } from '../diff.js';
import { ApiError } from '../errors.js';
import { formatTable, relativeTime, statusText } from '../format.js';
import type { ContextFor } from '../program.js';
import { details, emit, jsonInput } from './shared.js';

type PolicyBody = Record<string, unknown> & {
  readonly mode?: string;
  readonly tags?: { readonly include?: string[]; readonly exclude?: string[] };
  readonly owners?: string[];
  readonly description?: string;
};

/** GET …/policies/{scope} and an item of the list (lib/http/openapi.ts `PolicyResource`). */
interface PolicyResource {
  readonly registry: string;
  readonly scope: string;
  readonly policy: PolicyBody;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly updatedAt: string;
  readonly updatedBy: string;
  readonly etag?: string;
}

interface HistoryEntry {
  readonly time: string;
  readonly principal: string;
  readonly principalName?: string;
  readonly action: string;
  readonly outcome: string;
  readonly reason?: string;
  readonly before?: PolicyBody;
  readonly after?: PolicyBody;
}

interface Evaluation {
  readonly decision: { readonly eligible: boolean; readonly reason: string; readonly skip?: string };
  readonly scope: string;
  readonly policy: PolicyBody;
  readonly candidates: string[];
}

interface WriteOptions {
  readonly data?: string;
  readonly file?: string;
  readonly ifMatch?: string;
}

const policyPath = (registry: string, scope: string): string =>
  `/registries/${encodeURIComponent(registry)}/policies/${scopePath(scope)}`;

async function readPolicy(client: ApiClient, registry: string, scope: string): Promise<PolicyResource> {
  const response = await client.send('GET', policyPath(registry, scope));
  const resource = JSON.parse(response.text) as PolicyResource;
  return { ...resource, etag: response.headers.get('etag') ?? '' };
}

async function readIfExists(client: ApiClient, registry: string, scope: string): Promise<PolicyResource | undefined> {
  try {
    return await readPolicy(client, registry, scope);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return undefined;
    throw error;
  }
}

const tagsText = (policy: PolicyBody): string =>
  [...(policy.tags?.include ?? []), ...(policy.tags?.exclude ?? []).map((glob) => `!${glob}`)].join(' ');

export function registerPolicy(program: Command, contextFor: ContextFor): void {
  const policy = program.command('policy').description('read, write and try out conversion policies');

  policy
    .command('list')
    .description('the policies of a registry')
    .action(async (_options: object, command: Command) => {
      const context = contextFor(command);
      const items = await context
        .client()
        .all<PolicyResource>(`/registries/${encodeURIComponent(context.registry())}/policies`);
      emit(context, items, () =>
        context.out(
          formatTable(
            [
              { header: 'SCOPE', value: (row) => row.scope },
              { header: 'MODE', value: (row) => row.policy.mode ?? '' },
              { header: 'TAGS', value: (row) => tagsText(row.policy) },
              { header: 'OWNERS', value: (row) => (row.policy.owners ?? []).join(',') },
              { header: 'UPDATED', value: (row) => relativeTime(row.updatedAt, context.now()) },
              { header: 'BY', value: (row) => row.updatedBy },
            ],
            items,
            context.style,
          ),
        ),
      );
    });

  policy
    .command('get <scope>')
    .description('one policy and its ETag (scope: _default, a glob such as team-a/**, or a repository)')
    .action(async (scope: string, _options: object, command: Command) => {
      const context = contextFor(command);
      const resource = await readPolicy(context.client(), context.registry(), scope);
      emit(context, resource, () => printPolicy(context, resource));
    });

  policy
    .command('set <scope>')
    .description('create or replace a policy; reads the ETag and sends If-Match itself')
    .option('-d, --data <json>', 'the policy as JSON')
    .option('-f, --file <path>', 'the policy from a file (- for stdin)')
    .option('--if-match <etag>', 'replace only this version (an ETag from policy get), instead of the current one')
    .action(async (scope: string, options: WriteOptions, command: Command) => {
      const context = contextFor(command);
      const body = await jsonInput(context, options);
      await write(context, 'PUT', scope, body, options.ifMatch);
    });

  policy
    .command('patch <scope>')
    .description('change some fields (JSON merge patch, RFC 7386; null removes a field); sends If-Match itself')
    .option('-d, --data <json>', 'the merge patch as JSON, e.g. {"mode":"onPush"}')
    .option('-f, --file <path>', 'the merge patch from a file (- for stdin)')
    .option('--if-match <etag>', 'patch only this version (an ETag from policy get)')
    .action(async (scope: string, options: WriteOptions, command: Command) => {
      const context = contextFor(command);
      const body = await jsonInput(context, options);
      await write(context, 'PATCH', scope, body, options.ifMatch);
    });

  policy
    .command('delete <scope>')
    .description('delete a policy (its repositories fall back to the next matching scope)')
    .option('--if-match <etag>', 'delete only this version')
    .action(async (scope: string, options: { ifMatch?: string }, command: Command) => {
      const context = contextFor(command);
      const registry = context.registry();
      await context
        .client()
        .send(
          'DELETE',
          policyPath(registry, scope),
          options.ifMatch ? { headers: { 'if-match': options.ifMatch } } : {},
        );
      emit(context, { registry, scope, deleted: true }, () => context.out(`deleted ${registry}/${scope}`));
    });

  policy
    .command('history <scope>')
    .description('every write attempt on a scope, applied or refused, newest first')
    .option('-n, --limit <count>', 'at most this many entries', parsePositiveInteger)
    .action(async (scope: string, options: { limit?: number }, command: Command) => {
      const context = contextFor(command);
      const registry = context.registry();
      const items = await context
        .client()
        .all<HistoryEntry>(
          `/registries/${encodeURIComponent(registry)}/policy-history/${scopePath(scope)}`,
          {},
          options.limit,
        );
      emit(context, items, () =>
        context.out(
          formatTable(
            [
              { header: 'WHEN', value: (row) => relativeTime(row.time, context.now()) },
              { header: 'ACTION', value: (row) => row.action },
              { header: 'OUTCOME', value: (row) => statusText(row.outcome, context.style) },
              { header: 'WHO', value: (row) => row.principalName ?? row.principal },
              {
                header: 'WHAT',
                value: (row) => row.reason ?? renderChanges(jsonChanges(row.before ?? {}, row.after ?? {})).join('; '),
              },
            ],
            items,
            context.style,
          ),
        ),
      );
    });

  policy
    .command('evaluate')
    .description('dry run: would a push of this image be converted, and which policy decides')
    .argument('<image>', 'repository, repository:tag or repository@sha256:…', parseEvaluationTarget)
    .option('--platform <os/arch>', 'the platform to assume (default linux/amd64)')
    .option('--size-bytes <bytes>', 'the image size to assume', parsePositiveInteger)
    .action(
      async (target: { repository: string }, options: { platform?: string; sizeBytes?: number }, command: Command) => {
        const context = contextFor(command);
        const answer = await context
          .client()
          .json<Evaluation>('POST', `/registries/${encodeURIComponent(context.registry())}/policy-evaluation`, {
            body: { ...target, ...options },
          });
        emit(context, answer, () =>
          context.out(
            details([
              ['decision', answer.decision.eligible ? context.style.green('convert') : context.style.yellow('skip')],
              ['reason', answer.decision.reason],
              ['scope', answer.scope],
              ['mode', answer.policy.mode],
              ['candidates', answer.candidates.join(', ') || '(none)'],
            ]),
          ),
        );
      },
    );
}

function printPolicy(context: Context, resource: PolicyResource): void {
  const now = context.now();
  context.out(
    details([
      ['scope', `${resource.registry}/${resource.scope}`],
      ['etag', resource.etag],
      ['updated', `${relativeTime(resource.updatedAt, now)} by ${resource.updatedBy}`],
      ['created', `${relativeTime(resource.createdAt, now)} by ${resource.createdBy}`],
    ]),
  );
  context.out(JSON.stringify(resource.policy, null, 2));
}

/**
 * PUT or PATCH with the ETag of the version it read (or the one given), so a concurrent change is never
 * overwritten unseen; a new scope is created with If-None-Match: *. On 412 it reads the policy again and says what
 * changed (style.md §18: a conflict is a reason to look again — here the person decides, not a loop).
 */
async function write(
  context: Context,
  method: 'PUT' | 'PATCH',
  scope: string,
  body: Record<string, unknown>,
  ifMatch: string | undefined,
): Promise<void> {
  const client = context.client();
  const registry = context.registry();
  const base = ifMatch === undefined ? await readIfExists(client, registry, scope) : undefined;
  if (method === 'PATCH' && ifMatch === undefined && base === undefined) {
    // A merge patch needs something to patch; the GET's 404 says so in the API's words.
    await readPolicy(client, registry, scope);
  }
  const condition = ifMatch ?? base?.etag;
  try {
    const response = await client.send(method, policyPath(registry, scope), {
      body,
      ...(method === 'PATCH' ? { contentType: 'application/merge-patch+json' } : {}),
      headers: condition === undefined ? { 'if-none-match': '*' } : { 'if-match': condition },
    });
    const written = { ...(JSON.parse(response.text) as PolicyResource), etag: response.headers.get('etag') ?? '' };
    emit(context, written, () => {
      const verb = response.status === 201 ? 'created' : method === 'PATCH' ? 'patched' : 'replaced';
      context.out(`${verb} ${registry}/${scope} (etag ${written.etag})`);
      if (base !== undefined)
        for (const line of renderChanges(jsonChanges(base.policy, written.policy))) context.out(`  ${line}`);
    });
  } catch (error) {
    if (error instanceof ApiError && error.status === 412) await explainConflict(context, error, scope, base);
    throw error;
  }
}

async function explainConflict(
  context: Context,
  error: ApiError,
  scope: string,
  base: PolicyResource | undefined,
): Promise<void> {
  const client = context.client();
  const registry = context.registry();
  const current = await readIfExists(client, registry, scope);
  if (current === undefined) {
    error.notes.push(`${registry}/${scope} was deleted since it was read.`);
    error.extra = { current: null };
    return;
  }
  const now = context.now();
  error.notes.push(
    `${registry}/${scope} changed since it was read: now etag ${current.etag}, ` +
      `updated ${relativeTime(current.updatedAt, now)} by ${current.updatedBy}.`,
  );
  let changes = base === undefined ? undefined : jsonChanges(base.policy, current.policy);
  if (changes === undefined) {
    // The caller gave --if-match, so the version they meant is unknown here; the last applied write is what changed.
    const [last] = (
      await client.all<HistoryEntry>(
        `/registries/${encodeURIComponent(registry)}/policy-history/${scopePath(scope)}`,
        {},
        20,
      )
    ).filter((entry) => entry.outcome === 'applied');
    if (last !== undefined) {
      changes = jsonChanges(last.before ?? {}, last.after ?? {});
      error.notes.push(`Last change: ${last.action} by ${last.principalName ?? last.principal}:`);
    }
  }
  for (const line of renderChanges(changes ?? [])) error.notes.push(`  ${line}`);
  error.notes.push('Read it again (policy get) and decide, then retry.');
  error.extra = { current, changes: changes ?? [] };
}
