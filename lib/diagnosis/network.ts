/**
 * The address arithmetic of the doctor's `cluster.network` check: whether the cluster's outbound addresses fall in
 * the registry's IP rules, and which virtual network a subnet or a pool belongs to.
 */
import ipaddr from 'ipaddr.js';

/**
 * Whether `address` lies in `rule`: an IPv4 address or a CIDR range, the two forms an ACR IP rule takes ("Specifies
 * the IP or IP range in CIDR format. Only IPV4 address is allowed": @azure/arm-containerregistry 12, `IPRule`). A
 * rule or address that is not IPv4 in dotted decimal matches nothing. The arithmetic is ipaddr.js's.
 */
export function cidrContains(rule: string, address: string): boolean {
  const text = rule.trim();
  const host = address.trim();
  if (!ipaddr.IPv4.isValidFourPartDecimal(host)) return false;
  const range = text.includes('/') ? text : `${text}/32`;
  if (!ipaddr.IPv4.isValidCIDR(range) || !ipaddr.IPv4.isValidFourPartDecimal(range.split('/')[0]!)) return false;
  return ipaddr.IPv4.parse(host).match(ipaddr.IPv4.parseCIDR(range));
}

/**
 * The virtual network of a subnet: its resource ID without `/subnets/{name}`
 * (`/subscriptions/…/providers/Microsoft.Network/virtualNetworks/{vnet}/subnets/{subnet}`), lower-cased, since ARM
 * compares resource IDs without case. Undefined when the ID names no subnet.
 */
export function virtualNetworkOf(subnetId: string | undefined): string | undefined {
  if (subnetId === undefined) return undefined;
  const match = /^(.*\/virtualNetworks\/[^/]+)\/subnets\/[^/]+\/?$/i.exec(subnetId.trim());
  return match ? match[1]!.toLowerCase() : undefined;
}

/** `vnet` of a virtual network ID, for messages and commands. */
export function virtualNetworkName(virtualNetworkId: string): string {
  return virtualNetworkId.split('/').at(-1) ?? virtualNetworkId;
}

/** The resource group of an ARM ID (`/subscriptions/{s}/resourceGroups/{g}/…`), or undefined. */
export function resourceGroupOf(resourceId: string): string | undefined {
  return /\/resourceGroups\/([^/]+)/i.exec(resourceId)?.[1];
}
