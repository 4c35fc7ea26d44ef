import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logging.js';
import type { NoticeEvent, Outbox } from '../core/outbox.js';
import type { RegistrySettings } from '../core/registries.js';
import type { Versioned } from '../core/image.js';
import type { ClusterVerdict, ConsumerSource, PoolVerdict } from './model.js';
import { consumerKey, type ConsumerState, type ConsumerStore } from './ports.js';
import { surveyConsumers, type ConsumerSurvey } from './survey.js';
import { streamingCapacity } from './classify.js';

export interface ConsumerAuditDependencies {
  readonly registries: readonly RegistrySettings[];
  readonly source: ConsumerSource;
  /** CONSUMER_SCOPES: subscriptions, resource groups or cluster IDs; empty means consumers are not configured. */
  readonly scopes: readonly string[];
  readonly store: ConsumerStore;
  readonly outbox: Outbox;
  readonly clock: Clock;
}

type ConsumerEventType = 'consumer.cannotStream' | 'consumer.pullLost' | 'consumer.recovered';

/** A lost write is decided again on what the winner wrote; three losses in a row leave it to the next run. */
const MAX_ATTEMPTS = 3;

/**
 * The consumer audit (issue #20 §1), on the connected-registry audit's pattern (lib/audit/connected.ts): a timer
 * classifies the clusters in scope against every registry and alerts on transitions only —
 * - `consumer.cannotStream`: a node pool of a cluster that pulls from the registry could stream and no longer can;
 * - `consumer.pullLost`: a cluster whose kubelet identity could pull no longer holds a role that pulls;
 * - `consumer.recovered`: what one of those alerts said is over (the pool streams again, pull is back). Only alerts
 *   actually raised are closed, so a new cluster attached to the registry is not announced as "recovered".
 * A first sighting alerts nothing (there is no transition from nothing), `unknown` pull is no transition (ARM not
 * answering is not an incident), and a cluster gone from a fully listed scope loses its state.
 */
export class ConsumerAudit {
  private notConfiguredLogged = false;

  constructor(private readonly deps: ConsumerAuditDependencies) {}

  get configured(): boolean {
    return this.deps.scopes.length > 0;
  }

  async run(log: Logger): Promise<Map<string, ConsumerSurvey>> {
    const results = new Map<string, ConsumerSurvey>();
    if (!this.configured) {
      if (!this.notConfiguredLogged)
        log.info('consumers are not configured (CONSUMER_SCOPES is empty): the consumer audit does nothing');
      this.notConfiguredLogged = true;
      return results;
    }
    for (const registry of this.deps.registries) {
      try {
        results.set(registry.name, await this.auditRegistry(registry, log));
      } catch (error) {
        log.warn(
          `consumers of ${registry.name} could not be audited: ${error instanceof Error ? error.message.slice(0, 300) : String(error)}`,
          { registry: registry.name },
        );
      }
    }
    return results;
  }

  private async auditRegistry(registry: RegistrySettings, log: Logger): Promise<ConsumerSurvey> {
    const now = this.deps.clock.now();
    const survey = await surveyConsumers(registry, this.deps.source, this.deps.scopes, now);
    for (const problem of survey.unreadable) log.warn(`consumers of ${registry.name}: ${problem}`);
    const previous = await this.deps.store.states(registry.name);
    for (const verdict of survey.clusters) {
      const key = consumerKey(verdict.id);
      try {
        await this.record(registry.name, verdict, previous.get(key), now, log);
      } catch (error) {
        log.warn(
          `consumer state of ${verdict.name} for ${registry.name} could not be saved: ${error instanceof Error ? error.message.slice(0, 300) : String(error)}`,
          { registry: registry.name, cluster: verdict.id },
        );
      }
      previous.delete(key);
    }
    // What is left was not seen: gone from scope, unless a scope could not be listed to the end.
    if (survey.complete)
      for (const gone of previous.values())
        await this.deps.store.remove(registry.name, gone.value.clusterId, gone.etag).catch(() => false);
    // One line per registry and run: what an operator reads first, and what says the run ended.
    const states = survey.clusters.map((verdict) => verdict.state);
    const count = (state: ClusterVerdict['state']): number => states.filter((each) => each === state).length;
    const { nodes, streamingNodes } = streamingCapacity(survey.clusters);
    log.info(
      `consumers of ${registry.name}: ${survey.clusters.length} clusters (${count('streaming')} streaming, ` +
        `${count('partial')} partly, ${count('cannot-stream')} cannot stream, ${count('no-pull')} without pull); ` +
        `${streamingNodes} of ${nodes} nodes can stream${survey.complete ? '' : '; some scopes could not be listed'}`,
      { registry: registry.name },
    );
    return survey;
  }

  /** Event(s) first, then the state: a repeat after a failed or lost write yields the same event ids. */
  private async record(
    registry: string,
    verdict: ClusterVerdict,
    before: Versioned<ConsumerState> | undefined,
    now: Date,
    log: Logger,
  ): Promise<void> {
    let current = before;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const decision = decide(registry, verdict, current?.value, now);
      if (decision === undefined) return;
      for (const event of decision.events) await this.deps.outbox.append(event);
      if (await this.deps.store.save(decision.state, current?.etag)) {
        for (const event of decision.events)
          log.warn(event.message, { registry, cluster: verdict.id, event: event.type });
        return;
      }
      current = await this.deps.store.state(registry, verdict.id);
    }
  }
}

/** The ConsumerAudit of a source and scope list (lib/deps.ts builds it from the ARM adapter and CONSUMER_SCOPES). */
export function consumerAuditFor(
  source: ConsumerSource,
  scopes: readonly string[],
  deps: Omit<ConsumerAuditDependencies, 'source' | 'scopes'>,
): ConsumerAudit {
  return new ConsumerAudit({ ...deps, source, scopes });
}

/**
 * What a verdict changes against the stored state: the new state and the alerts it raises; undefined when nothing
 * changed (nothing to write).
 */
export function decide(
  registry: string,
  verdict: ClusterVerdict,
  before: ConsumerState | undefined,
  now: Date,
): { state: ConsumerState; events: NoticeEvent[] } | undefined {
  const pools = Object.fromEntries(verdict.pools.map((pool) => [pool.name, pool.canStream]));
  const base = { registry, clusterId: verdict.id, clusterName: verdict.name };
  if (before === undefined)
    return { state: { ...base, pull: verdict.pull, pools, open: [], since: now.toISOString() }, events: [] };

  // ARM not answering keeps what was known.
  const pull = verdict.pull === 'unknown' ? before.pull : verdict.pull;
  const open = new Set(before.open);
  const events: NoticeEvent[] = [];
  const event = (type: ConsumerEventType, subject: string, fields: EventFields): void => {
    events.push(consumerEvent(registry, verdict, type, subject, before.since, now, fields));
  };

  if (before.pull === 'granted' && pull === 'missing' && !open.has('pull')) {
    open.add('pull');
    event('consumer.pullLost', 'pull', {
      message: `Cluster ${verdict.name} can no longer pull from ${registry}: ${verdict.reason ?? 'no role with pull'}`,
      ...(verdict.fix ? { remediation: verdict.fix } : {}),
      facts: { State: 'no-pull', Before: 'pull granted' },
    });
  } else if (pull === 'granted' && open.has('pull')) {
    open.delete('pull');
    event('consumer.recovered', 'pull', {
      message: `Cluster ${verdict.name} can pull from ${registry} again (${verdict.pullRoles.join('; ')})`,
      facts: { State: verdict.state, Before: 'no-pull' },
    });
  }

  for (const pool of verdict.pools) {
    const key = `pool:${pool.name}`;
    if (pull === 'granted' && before.pools[pool.name] === true && !pool.canStream && !open.has(key)) {
      open.add(key);
      event('consumer.cannotStream', key, {
        message: `Node pool ${pool.name} of cluster ${verdict.name} can no longer stream from ${registry}: ${reasonsOf(pool)}`,
        // A blank line between fixes: Teams' TextBlock (Markdown) joins single line breaks.
        remediation: pool.reasons.map((reason) => reason.fix).join('\n\n'),
        facts: { 'Node pool': pool.name, Nodes: String(pool.nodes), Reason: reasonsOf(pool), Before: 'can stream' },
      });
    } else if (pool.canStream && open.has(key)) {
      open.delete(key);
      event('consumer.recovered', key, {
        message: `Node pool ${pool.name} of cluster ${verdict.name} can stream from ${registry} again`,
        facts: { 'Node pool': pool.name, Nodes: String(pool.nodes), Before: 'cannot stream' },
      });
    }
  }
  // A pool deleted while it could not stream (the fix for ARM64, OS Guard, …: a new pool, the old one drained and
  // deleted) closes its alert silently: the cluster's other pools speak for themselves.
  for (const key of [...open]) if (key.startsWith('pool:') && !(key.slice(5) in pools)) open.delete(key);

  const state: ConsumerState = { ...base, pull, pools, open: [...open].sort(), since: before.since };
  if (sameState(state, before)) return undefined;
  return { state: { ...state, since: now.toISOString() }, events };
}

interface EventFields {
  readonly message: string;
  readonly remediation?: string;
  readonly facts: Record<string, string>;
}

function reasonsOf(pool: PoolVerdict): string {
  return pool.reasons.map((reason) => reason.message).join('; ');
}

function consumerEvent(
  registry: string,
  verdict: ClusterVerdict,
  type: ConsumerEventType,
  subject: string,
  beforeSince: string,
  now: Date,
  fields: EventFields,
): NoticeEvent {
  return {
    // The transition away from the state recorded at `beforeSince`: whoever sees it, however often, stores one event.
    id: `${type}:${registry}:${consumerKey(verdict.id)}:${subject}:${beforeSince}`,
    type,
    time: now.toISOString(),
    registry,
    message: fields.message,
    ...(fields.remediation ? { remediation: fields.remediation } : {}),
    facts: {
      Cluster: verdict.name,
      'Cluster ID': verdict.id,
      'Resource group': verdict.resourceGroup,
      Location: verdict.location,
      ...fields.facts,
    },
  };
}

function sameState(a: ConsumerState, b: ConsumerState): boolean {
  const poolsA = Object.entries(a.pools).sort(([x], [y]) => x.localeCompare(y));
  const poolsB = Object.entries(b.pools).sort(([x], [y]) => x.localeCompare(y));
  return (
    a.pull === b.pull &&
    a.clusterId === b.clusterId &&
    a.clusterName === b.clusterName &&
    JSON.stringify(poolsA) === JSON.stringify(poolsB) &&
    JSON.stringify([...a.open].sort()) === JSON.stringify([...b.open].sort())
  );
}
