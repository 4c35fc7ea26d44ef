/**
 * The address arithmetic of the doctor's `cluster.network` check: whether the cluster's outbound addresses fall in
 * the registry's IP rules, and which virtual network a subnet or a pool belongs to.
 */

/** A dotted IPv4 address as a 32-bit number, or undefined when it is not one. */
export function ipv4ToNumber(address: string): number | undefined {
  const parts = address.trim().split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/**
 * Whether `address` lies in `rule`: an IPv4 address or a CIDR range, the two forms an ACR IP rule takes ("Specifies
 * the IP or IP range in CIDR format. Only IPV4 address is allowed": @azure/arm-containerregistry 12, `IPRule`). A
 * rule or address that is not IPv4 matches nothing.
 */
export function cidrContains(rule: string, address: string): boolean {
  const [base, bitsText] = rule.trim().split('/');
  const network = ipv4ToNumber(base ?? '');
  const host = ipv4ToNumber(address);
  if (network === undefined || host === undefined) return false;
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > 32 || !/^\d*$/.test(bitsText ?? '')) return false;
  // 2^(32-bits) addresses per block; integer division keeps it exact (no 32-bit bitwise overflow).
  const size = 2 ** (32 - bits);
  return Math.floor(network / size) === Math.floor(host / size);
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
