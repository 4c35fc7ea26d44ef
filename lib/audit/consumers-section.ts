import type { Logger } from '../core/logging.js';
import type { RegistrySettings } from '../core/registries.js';
import { streamingCapacity } from '../consumers/classify.js';
import type { ConsumerSource } from '../consumers/model.js';
import { byConsumerOrder, surveyConsumers, type ConsumerSurvey } from '../consumers/survey.js';
import type { ConsumersSection } from '../reports/model.js';

/** What ARM can and cannot say, written into every Consumers section (issue #20: "say what is and is not known"). */
const knownNote =
  'Known from ARM: which clusters in scope can pull from the registry (their kubelet identity holds a role that ' +
  'pulls) and which of their node pools can stream (artifact streaming enabled, Kubernetes 1.26 or later, Linux ' +
  'Ubuntu or Azure Linux without OS Guard, AMD64, no pod sandboxing, no confidential or Generation 1 VMs; a ' +
  "cluster with no replica of the registry in its region streams across regions, and is advised to add one). Not known: which repositories each cluster's workloads " +
  "actually pull — that needs each cluster's own Kubernetes API, which this app does not read — nor whether the " +
  "registry's network rules let the nodes reach it (ask the doctor: GET /api/registries/{registry}/diagnosis).";

/** The report's Consumers section from one survey. */
export function consumersSection(survey: ConsumerSurvey): ConsumersSection {
  const { nodes, streamingNodes } = streamingCapacity(survey.clusters);
  const percent = nodes === 0 ? 0 : Math.round((streamingNodes / nodes) * 1_000) / 10;
  const pulling = survey.clusters.filter((cluster) => cluster.pull !== 'missing');
  const unknown = survey.clusters.filter((cluster) => cluster.pull === 'unknown').length;
  const notPulling = survey.clusters.length - pulling.length;
  const notes = [knownNote];
  notes.push(
    survey.clusters.length === 0
      ? `No cluster found in scope (${survey.scope.join(', ')}).`
      : `${pulling.length} of ${survey.clusters.length} cluster(s) in scope can pull from ${survey.registry}` +
          `${unknown > 0 ? ` (${unknown} of them unknown: their role assignments could not be read)` : ''}; ` +
          `${streamingNodes} of ${nodes} node(s) of those clusters (${percent}%) are in pools that can stream.`,
  );
  if (notPulling > 0)
    notes.push(
      `${notPulling} cluster(s) hold no role that pulls from ${survey.registry}: listed last, each with the command ` +
        'that attaches it (they are not consumers until then).',
    );
  return {
    configured: true,
    scope: [...survey.scope],
    // Pullers first (the survey sorts so already; a section built from elsewhere is sorted here the same way).
    clusters: [...survey.clusters].sort(byConsumerOrder),
    capacity: { nodes, streamingNodes, percent },
    unreadable: survey.unreadable,
    notes,
  };
}

/** The section of a report made while no scope is configured: says so and how to configure it. */
export function consumersNotConfigured(): ConsumersSection {
  return {
    configured: false,
    scope: [],
    clusters: [],
    capacity: { nodes: 0, streamingNodes: 0, percent: 0 },
    unreadable: [],
    notes: [
      'Consumers are not configured: set CONSUMER_SCOPES to the subscriptions, resource groups or AKS cluster IDs ' +
        'to look in, and grant this app Reader there, to see which clusters pull from this registry and can stream.',
    ],
  };
}

/**
 * The report source's `consumers` dependency: a survey made when the report is (as the connected registries are),
 * undefined when no scope is configured.
 */
export function liveConsumersSection(
  source: ConsumerSource,
  scopes: readonly string[],
  now: () => Date = () => new Date(),
): (registry: RegistrySettings, log: Logger) => Promise<ConsumersSection | undefined> {
  return async (registry, log) => {
    if (scopes.length === 0) return undefined;
    const survey = await surveyConsumers(registry, source, scopes, now());
    for (const problem of survey.unreadable) log.warn(`consumers of ${registry.name}: ${problem}`);
    return consumersSection(survey);
  };
}
