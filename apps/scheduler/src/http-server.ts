/**
 * The service's HTTP endpoints: `/healthz` (the process is alive), `/readyz` (every assigned
 * partition loaded, or a standby member holding none, and the broker reachable; 503 otherwise;
 * the body says why) and `/metrics` (Prometheus text).
 * Bound to 127.0.0.1 by default.
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readinessResponse } from './embed.js';
import type { ReadinessReport } from './health.js';

/** Options of {@link startHttpServer}. */
export interface HttpServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly readiness: () => ReadinessReport;
  readonly metrics: () => Promise<string>;
  readonly metricsContentType: string;
  /** Told about a handler failure (the response is a 500). */
  readonly onError?: (error: unknown) => void;
}

/** A running HTTP server. */
export interface HttpServer {
  /** The bound port (useful with port 0). */
  readonly port: number;
  readonly host: string;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, type: string, body: string, head: boolean): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(head ? undefined : body);
}

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Starts the HTTP server; resolves once it listens.
 *
 * @throws the listen error (e.g. `EADDRINUSE`).
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      res.setHeader('allow', 'GET, HEAD');
      send(res, 405, JSON_TYPE, JSON.stringify({ error: 'method not allowed' }), false);
      return;
    }
    switch (path) {
      case '/healthz':
        send(res, 200, JSON_TYPE, JSON.stringify({ status: 'ok' }), head);
        return;
      case '/readyz': {
        const { status, body } = readinessResponse(options.readiness());
        send(res, status, JSON_TYPE, JSON.stringify(body), head);
        return;
      }
      case '/metrics':
        send(res, 200, options.metricsContentType, await options.metrics(), head);
        return;
      default:
        send(res, 404, JSON_TYPE, JSON.stringify({ error: 'not found', endpoints: ['/healthz', '/readyz', '/metrics'] }), head);
    }
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      options.onError?.(error);
      if (!res.headersSent) send(res, 500, JSON_TYPE, JSON.stringify({ error: 'internal error' }), false);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    port: address.port,
    host: options.host,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
