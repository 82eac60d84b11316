/**
 * A standalone HTTP server for the UI (what `ksched ui` and `ksched run --ui` start). To mount the
 * UI in a server of your own, use {@link createWebHandler} instead.
 *
 * @module
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebHandler } from './handler.js';

/** Options of {@link startWebServer}. */
export interface WebServerOptions {
  readonly handler: WebHandler;
  /** Default `127.0.0.1`: the UI is not reachable from other machines unless you say so. */
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
}

/** A running UI server. */
export interface WebServer {
  readonly host: string;
  readonly port: number;
  /** `http://host:port/` */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Starts an HTTP server answering with `handler`; resolves once it listens.
 *
 * @throws the listen error (e.g. `EADDRINUSE`).
 */
export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer((req, res) => options.handler(req, res));
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    host,
    port,
    url: `http://${shownHost}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
