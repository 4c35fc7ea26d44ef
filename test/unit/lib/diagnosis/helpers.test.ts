import { describe, expect, it } from 'vitest';
import { parseImageReference } from '../../../../lib/diagnosis/api.js';
import { nearest } from '../../../../lib/diagnosis/nearest.js';
import { cidrContains, virtualNetworkOf } from '../../../../lib/diagnosis/network.js';

describe('nearest names', () => {
  it('orders by distance, ties in the given (newest-first) order, ignores case, drops duplicates, bounded', () => {
    expect(nearest('v1.3', ['v2.0', 'v1.4', 'V1.3.1', 'v1.2', 'v1.4'], 3)).toEqual(['v1.4', 'v1.2', 'v2.0']);
    expect(nearest('x', [], 5)).toEqual([]);
  });
});

describe('CIDR matching', () => {
  it.each([
    ['20.1.2.0/24', '20.1.2.255', true],
    ['20.1.2.0/24', '20.1.3.0', false],
    ['20.1.2.3', '20.1.2.3', true],
    ['20.1.2.3/32', '20.1.2.4', false],
    ['0.0.0.0/0', '203.0.113.7', true],
    ['10.0.0.0/8', '11.0.0.0', false],
    ['255.255.255.0/25', '255.255.255.127', true],
    ['255.255.255.0/25', '255.255.255.128', false],
    ['20.1.2.0/33', '20.1.2.1', false],
    ['not-an-ip', '20.1.2.1', false],
    ['20.1.2.0/24', '2001:db8::1', false],
  ])('%s contains %s: %s', (rule, address, expected) => {
    expect(cidrContains(rule, address)).toBe(expected);
  });
});

describe('virtual network of a subnet', () => {
  it('is the subnet ID without /subnets/…, lower-cased; undefined for other IDs', () => {
    expect(
      virtualNetworkOf(
        '/subscriptions/s/resourceGroups/RG/providers/Microsoft.Network/virtualNetworks/VNet1/subnets/a',
      ),
    ).toBe('/subscriptions/s/resourcegroups/rg/providers/microsoft.network/virtualnetworks/vnet1');
    expect(virtualNetworkOf('/subscriptions/s/resourceGroups/rg')).toBeUndefined();
    expect(virtualNetworkOf(undefined)).toBeUndefined();
  });
});

describe('image references', () => {
  it('parses repository:tag and repository@digest, and says why anything else is not one', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(parseImageReference('team-a/app:v1')).toEqual({ ok: true, image: { repository: 'team-a/app', tag: 'v1' } });
    expect(parseImageReference(`team-a/app@${digest}`)).toEqual({
      ok: true,
      image: { repository: 'team-a/app', digest },
    });
    expect(parseImageReference('team-a/app')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/repository:tag/) as string,
    });
    expect(parseImageReference('Team/App:v1')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/repository name/) as string,
    });
    expect(parseImageReference('team-a/app@sha256:abc')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/64/) as string,
    });
    expect(parseImageReference('host:5000/app')).toMatchObject({ ok: false });
  });
});
