/**
 * Why this exists: MSAL node sends instance discovery to the hard-coded https://login.microsoftonline.com for any
 * authority host it does not know, unless @azure/identity passes `knownAuthorities` — which it only does for
 * `disableInstanceDiscovery: true` or tenant "adfs", neither reachable through environment variables alone.
 *
 * So that UNMODIFIED product code using DefaultAzureCredential works with only env vars, the emulator offers an
 * HTTP CONNECT proxy that tunnels `login.microsoftonline.com:443` to its own management HTTPS listener (whose
 * certificate, issued by the emulator CA, must carry that DNS name). Run the product with
 *   HTTPS_PROXY=http://127.0.0.1:<tunnel port>  NO_PROXY=127.0.0.1,localhost  NODE_EXTRA_CA_CERTS=<emulator CA>
 * core-rest-pipeline honours HTTPS_PROXY/NO_PROXY, so only the discovery call goes through the tunnel. Every other
 * CONNECT target is refused: the emulator must never reach the internet.
 */
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

export interface DiscoveryTunnelOptions {
  /** Where tunnelled connections go: the management HTTPS listener. */
  readonly target: { readonly host: string; readonly port: number };
  /** `host:port` values allowed through; default only Entra's public-cloud discovery host. */
  readonly allowedAuthorities?: readonly string[];
  /** Port to bind on 127.0.0.1; 0 (default) picks one. */
  readonly port?: number;
}

export interface DiscoveryTunnel {
  /** `http://127.0.0.1:PORT`: the value for HTTPS_PROXY. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startDiscoveryTunnel(options: DiscoveryTunnelOptions): Promise<DiscoveryTunnel> {
  const allowed = new Set(
    (options.allowedAuthorities ?? ['login.microsoftonline.com:443']).map((a) => a.toLowerCase()),
  );
  const sockets = new Set<Socket>();
  const server: Server = createServer((_request, response) => {
    // Plain proxied HTTP (non-CONNECT) would mean something tried http:// through us: refuse it.
    response
      .writeHead(405, { 'content-type': 'text/plain' })
      .end('Only CONNECT to the Entra discovery host is supported.\n');
  });
  server.on('connect', (request, clientSocket: Socket, head: Buffer) => {
    sockets.add(clientSocket);
    clientSocket.on('close', () => sockets.delete(clientSocket));
    clientSocket.on('error', () => clientSocket.destroy());
    const authority = (request.url ?? '').toLowerCase();
    if (!allowed.has(authority)) {
      clientSocket.end(
        `HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\n\r\nThe emulator does not tunnel to ${authority}.\n`,
      );
      return;
    }
    const upstream = connect(options.target.port, options.target.host, () => {
      clientSocket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(clientSocket);
      clientSocket.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => clientSocket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
