import { describe, expect, it } from 'vitest';
import { surveyConsumers } from '../../../../lib/consumers/survey.js';
import {
  InMemoryConsumerSource,
  acrPull,
  armError,
  capablePool,
  clusterView,
  registrySettings,
  registryView,
} from '../../../support/fakes/consumers.js';

const now = new Date('2026-11-29T08:00:00.000Z');
const subscription = '/subscriptions/s1';
const otherSubscription = '/subscriptions/s2';

function source(): InMemoryConsumerSource {
  const arm = new InMemoryConsumerSource(registryView);
  arm.scopes.set(subscription, [
    clusterView('zeta', [capablePool]),
    clusterView('alpha', [capablePool, { ...capablePool, name: 'arm', vmSize: 'Standard_D4ps_v5' }]),
    clusterView('nopull', [capablePool]),
  ]);
  arm.grantsByPrincipal.set('zeta-kubelet', [acrPull('zeta-kubelet')]);
  arm.grantsByPrincipal.set('alpha-kubelet', [acrPull('alpha-kubelet')]);
  return arm;
}

describe('surveyConsumers', () => {
  it('classifies every cluster in scope, pullers first, reading the registry and the grants once', async () => {
    const arm = source();
    const survey = await surveyConsumers(registrySettings, arm, [subscription], now);

    expect(survey.clusters.map((cluster) => `${cluster.name}:${cluster.pull}:${cluster.state}`)).toEqual([
      'alpha:granted:partial',
      'zeta:granted:streaming',
      'nopull:missing:no-pull',
    ]);
    expect(survey.clusters[2]?.fix).toBe(
      `az aks update --resource-group aks-rg --name nopull --attach-acr ${registryView.id}`,
    );
    expect(survey.clusters[0]?.pools.find((pool) => pool.name === 'arm')?.reasons[0]?.code).toBe('arm64');
    expect(arm.calls).toEqual({ grants: 1, registry: 1 });
    expect(survey.unreadable).toEqual([]);
    expect(survey.complete).toBe(true);
  });

  it('lists a cluster in two overlapping scopes once', async () => {
    const arm = source();
    const alpha = arm.scopes.get(subscription)![1]!;
    arm.scopes.set(alpha.id.toUpperCase(), [alpha]);
    const survey = await surveyConsumers(registrySettings, arm, [subscription, alpha.id.toUpperCase()], now);
    expect(survey.clusters.filter((cluster) => cluster.name === 'alpha')).toHaveLength(1);
  });

  it('reports a scope it may not list with the grant to make, and keeps the clusters of the other scopes', async () => {
    const arm = source();
    arm.failures.scopes.set(otherSubscription, armError(403, 'AuthorizationFailed'));
    const survey = await surveyConsumers(registrySettings, arm, [otherSubscription, subscription], now);

    expect(survey.unreadable).toEqual([
      `could not read clusters in ${otherSubscription}: grant this app Reader on ${otherSubscription}`,
    ]);
    expect(survey.clusters).toHaveLength(3);
    expect(survey.complete).toBe(false);
  });

  it('gives pull unknown (not missing) when the role assignments cannot be read', async () => {
    const arm = source();
    arm.failures.grants = armError(403, 'AuthorizationFailed');
    const survey = await surveyConsumers(registrySettings, arm, [subscription], now);

    expect(new Set(survey.clusters.map((cluster) => cluster.pull))).toEqual(new Set(['unknown']));
    expect(survey.clusters.every((cluster) => cluster.state !== 'no-pull')).toBe(true);
    expect(survey.unreadable[0]).toContain(`could not read the role assignments on contoso`);
    expect(survey.unreadable[0]).toContain(`grant this app Reader on ${registryView.id}`);
  });

  it('without the registry judges nothing and says what to grant', async () => {
    const arm = source();
    arm.failures.registry = armError(403, 'AuthorizationFailed');
    const survey = await surveyConsumers(registrySettings, arm, [subscription], now);
    expect(survey.clusters).toEqual([]);
    expect(survey.unreadable).toEqual([
      `could not read the registry contoso from ARM (AuthorizationFailed): grant this app Reader on ${registryView.id}`,
    ]);
    expect(survey.complete).toBe(false);
  });
});
