export { createEntra, normalizeAudience } from './entra.js';
export type { AccessTokenClaims, Entra, EntraClient, EntraOptions, TokenVerification } from './entra.js';
export { startDiscoveryTunnel } from './discovery-tunnel.js';
export type { DiscoveryTunnel, DiscoveryTunnelOptions } from './discovery-tunnel.js';
export { dispatch, startTestingServer, toEmulatorRequest, writeEmulatorResponse } from './testing-server.js';
export type { TestingServer, TestingServerOptions } from './testing-server.js';
export { ACR_EXCHANGE_AUDIENCES, acrExchangeVerifier } from './verifiers.js';
