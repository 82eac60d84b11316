/**
 * Readiness: the core scheduler's `readiness()` (every assigned partition loaded, or a standby
 * member of its group holding none) and the broker reachable (a metadata request that succeeded
 * within the last check), with the reason.
 *
 * @module
 */
import type { PartitionStatus, SchedulerReadiness } from '@ksched/core';
import type { Readiness } from './metrics.js';

/** What the probe needs from the scheduler. */
export interface ReadinessSource {
  readiness(): SchedulerReadiness;
  partitions(): PartitionStatus[];
}

/** Options of {@link ReadinessProbe}. */
export interface ReadinessProbeOptions {
  readonly scheduler: ReadinessSource;
  /** A cheap request to the broker (e.g. the partition count of a schedules topic); rejects when unreachable. */
  readonly checkBroker: () => Promise<unknown>;
  /** Time between broker checks, ms. Default 5000. */
  readonly intervalMs?: number;
  /** A check that has not answered after this long counts as failed, ms. Default 5000. */
  readonly timeoutMs?: number;
  /** Told when reachability changes. */
  readonly onChange?: (reachable: boolean, error?: unknown) => void;
}

/** A readiness report, as `/readyz` returns it. */
export interface ReadinessReport extends Readiness {
  /** Why ready or not, for people (e.g. `standby: member of group … with no partitions`). */
  readonly reason: string;
  readonly partitions: readonly PartitionStatus[];
}

/** Checks the broker periodically in the background and answers readiness without waiting. */
export class ReadinessProbe {
  readonly #options: ReadinessProbeOptions;
  #reachable: boolean | undefined;
  #timer: NodeJS.Timeout | undefined;
  #checking = false;
  #stopped = false;

  constructor(options: ReadinessProbeOptions) {
    this.#options = options;
  }

  /** Starts checking (the first check runs now). */
  start(): void {
    this.#stopped = false;
    void this.check();
  }

  /** Stops checking. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Runs one broker check now (skipped while one is in flight). */
  async check(): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    const timeoutMs = this.#options.timeoutMs ?? 5000;
    let timeout: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.#options.checkBroker(),
        new Promise((_, reject) => {
          timeout = setTimeout(() => reject(new Error(`no answer from the broker within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      this.#set(true);
    } catch (error) {
      this.#set(false, error);
    } finally {
      clearTimeout(timeout);
      this.#checking = false;
      if (!this.#stopped) {
        this.#timer = setTimeout(() => void this.check(), this.#options.intervalMs ?? 5000);
        this.#timer.unref();
      }
    }
  }

  #set(reachable: boolean, error?: unknown): void {
    const changed = this.#reachable !== reachable;
    this.#reachable = reachable;
    if (changed) this.#options.onChange?.(reachable, error);
  }

  /** The current readiness. */
  report(): ReadinessReport {
    const partitions = this.#options.scheduler.partitions();
    const member = this.#options.scheduler.readiness();
    const ready = this.#reachable === true && member.ready;
    const reason =
      this.#reachable === true
        ? member.reason
        : `${this.#reachable === false ? 'broker unreachable' : 'no broker check answered yet'}; ${member.reason}`;
    return { ready, reason, ...(this.#reachable !== undefined ? { brokerReachable: this.#reachable } : {}), partitions };
  }
}
