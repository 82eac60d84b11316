/**
 * What the service uses to observe and stop a `Scheduler`, for a scheduler embedded in your own
 * application (Express, Fastify, node:http…): the same Prometheus metrics, the same `/readyz` and
 * `/healthz` answers, and the same graceful stop, in a few lines.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { Registry } from 'prom-client';
 * import { observeScheduler, stopGracefully } from '@ksched/scheduler';
 *
 * const registry = new Registry(); // your app's
 * const observed = observeScheduler(scheduler, { registry, checkBroker: () => transport.partitionCount('scheduled_messages') });
 * app.get('/metrics', async (_req, res) => res.type(observed.contentType).send(await observed.renderMetrics()));
 * app.get('/readyz', (_req, res) => {
 *   const { status, body } = observed.readiness();
 *   res.status(status).json(body);
 * });
 * await scheduler.start();
 * process.once('SIGTERM', () => void stopGracefully(scheduler, { timeoutMs: 25_000 }).then(() => observed.close()));
 * ```
 *
 * @module
 */
import type { Registry } from 'prom-client';
import { ReadinessProbe, type ReadinessReport, type ReadinessSource } from './health.js';
import { SchedulerMetrics, type MetricsSource } from './metrics.js';

/** The `/readyz` body: `status`, why, whether the broker answered, and the partitions. */
export interface ReadinessBody {
  readonly status: 'ready' | 'not ready';
  readonly reason: string;
  readonly brokerReachable: boolean | null;
  readonly partitions: readonly {
    readonly topic: string;
    readonly partition: number;
    readonly state: string;
    readonly halted: boolean;
    readonly buffered: number;
  }[];
}

/** A readiness report as `/readyz` answers it: 200 when ready, 503 otherwise, and the body. */
export function readinessResponse(report: ReadinessReport): { readonly status: 200 | 503; readonly body: ReadinessBody } {
  return {
    status: report.ready ? 200 : 503,
    body: {
      status: report.ready ? 'ready' : 'not ready',
      reason: report.reason,
      brokerReachable: report.brokerReachable ?? null,
      partitions: report.partitions.map((p) => ({
        topic: p.topic,
        partition: p.partition,
        state: p.state,
        halted: p.halted,
        buffered: p.buffered,
      })),
    },
  };
}

/** Options of {@link observeScheduler}. */
export interface ObserveSchedulerOptions {
  /** A cheap broker request (e.g. `() => transport.partitionCount('scheduled_messages')`); rejects when the broker is unreachable. */
  readonly checkBroker: () => Promise<unknown>;
  /** Your prom-client registry (default: one of its own, with Node.js process metrics). */
  readonly registry?: Registry;
  /** Also export `process_*` / `nodejs_*` (default: only with a registry of its own). */
  readonly processMetrics?: boolean;
  /** Time between broker checks, ms (default 5000). */
  readonly brokerCheckIntervalMs?: number;
  /** Told when the broker becomes reachable or unreachable. */
  readonly onBrokerChange?: (reachable: boolean, error?: unknown) => void;
}

/** A scheduler observed as the service observes it (see {@link observeScheduler}). */
export interface ObservedScheduler {
  readonly metrics: SchedulerMetrics;
  readonly probe: ReadinessProbe;
  /** The `Content-Type` of {@link renderMetrics}. */
  readonly contentType: string;
  /** The registry's metrics in the Prometheus text format. */
  renderMetrics(): Promise<string>;
  /** What `/readyz` answers now. */
  readiness(): { readonly status: 200 | 503; readonly body: ReadinessBody };
  /** What `/healthz` answers: the process is alive. */
  health(): { readonly status: 200; readonly body: { readonly status: 'ok' } };
  /** Stops the broker checks and detaches the metrics from the scheduler. */
  close(): void;
}

/**
 * Attaches the service's metrics (`ksched_*`, see the README's table) to `scheduler` and starts
 * the readiness probe (broker checks every 5 s in the background).
 */
export function observeScheduler(scheduler: MetricsSource & ReadinessSource, options: ObserveSchedulerOptions): ObservedScheduler {
  const metrics = new SchedulerMetrics({
    ...(options.registry !== undefined ? { registry: options.registry } : {}),
    ...(options.processMetrics !== undefined ? { processMetrics: options.processMetrics } : {}),
  });
  const detach = metrics.attach(scheduler);
  const probe = new ReadinessProbe({
    scheduler,
    checkBroker: options.checkBroker,
    ...(options.brokerCheckIntervalMs !== undefined ? { intervalMs: options.brokerCheckIntervalMs } : {}),
    ...(options.onBrokerChange !== undefined ? { onChange: options.onBrokerChange } : {}),
  });
  metrics.setReadiness(() => probe.report());
  probe.start();
  return {
    metrics,
    probe,
    contentType: metrics.contentType,
    renderMetrics: () => metrics.render(),
    readiness: () => readinessResponse(probe.report()),
    health: () => ({ status: 200, body: { status: 'ok' } }),
    close: () => {
      probe.stop();
      detach();
    },
  };
}

/** What {@link stopGracefully} needs: a `Scheduler`'s `stop`. */
export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Stops the scheduler the way the service does on SIGTERM: each partition finishes the flush in
 * progress and reports `stopped`, then the member leaves its group. Resolves `stopped`, or
 * `timeout` when that took longer than `timeoutMs` (the stop goes on in the background; exit then).
 * Rejects when the stop fails.
 */
export async function stopGracefully(scheduler: Stoppable, options: { readonly timeoutMs: number }): Promise<'stopped' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
  });
  try {
    return await Promise.race([scheduler.stop().then(() => 'stopped' as const), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
