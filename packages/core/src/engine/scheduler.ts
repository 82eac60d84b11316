import { parseSchedulerOptions, type SchedulerOptions, type SchedulerOptionsInput } from '../contracts/options.js';
import { StateError, UnsupportedError } from '../errors.js';
import type { Clock, TimerHandle } from '../ports/clock.js';
import { noopLogger, type Logger } from '../ports/logger.js';
import type { DispatchTracer } from '../ports/tracer.js';
import type { GroupListener, PartitionBatch, Subscription, TopicPartition, Transport } from '../ports/transport.js';
import { SchedulerEvents, type SchedulerEventMap, type SchedulerListener } from './events.js';
import { PartitionEngine, type PartitionStatus } from './partition-engine.js';

/** Construction options of a {@link Scheduler}. */
export interface SchedulerInit {
  readonly transport: Transport;
  readonly clock: Clock;
  readonly options: SchedulerOptionsInput;
  readonly logger?: Logger;
  /**
   * Traces each dispatch (e.g. `createOtelDispatchTracer()` of `@ksched/otel`). Default: none, and
   * the engine does no tracing work at all.
   */
  readonly tracer?: DispatchTracer;
}

/**
 * Whether a scheduler member is ready, and why (see {@link Scheduler.readiness}). `reason` is for
 * people (a probe's body, a log line); its wording is not a contract.
 */
export interface SchedulerReadiness {
  readonly ready: boolean;
  readonly reason: string;
}

/** Where the member is in its group: not joined yet, joined (a join completed), or rebalancing. */
type Membership = 'joining' | 'joined' | 'rebalancing';

const START_RETRY_BASE_MS = 500;
const START_RETRY_MAX_MS = 4000;

const tpKey = (tp: TopicPartition) => `${tp.topic}\u0000${tp.partition}`;
const plural = (n: number) => (n === 1 ? '' : 's');

/**
 * One scheduler group member: joins the group on the schedules topics, starts a
 * {@link PartitionEngine} for each assigned partition, parks it on revocation (waiting for an
 * in-flight flush; dispatch stops) and resumes it from its position when the partition comes back
 * within `rebalanceRetainMs` (else drops it), and on {@link Scheduler.stop} reports `stopped` for
 * every partition and leaves the group.
 *
 * @example
 * ```ts
 * const scheduler = new Scheduler({ transport, clock: systemClock, options: { topics: ['scheduled_messages'] } });
 * scheduler.on('dispatched', (e) => metrics.dispatched.inc());
 * await scheduler.start();
 * // … on SIGTERM:
 * await scheduler.stop();
 * ```
 *
 * @throws ConfigError (`KSM_CONFIG`) from the constructor when `options` are invalid.
 */
export class Scheduler {
  readonly options: SchedulerOptions;
  readonly #transport: Transport;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #tracer: DispatchTracer | undefined;
  readonly #events: SchedulerEvents;
  readonly #engines = new Map<string, PartitionEngine>();
  /** Engines of revoked partitions kept for `rebalanceRetainMs`, in case the partition comes back. */
  readonly #parked = new Map<string, { readonly engine: PartitionEngine; readonly timer: TimerHandle }>();
  #subscription: Subscription | undefined;
  /** The transactional id of this member's producer when transactions are fenced by the group (new at each start). */
  #memberTransactionalId: string | undefined;
  #running = false;
  #membership: Membership = 'joining';

  constructor(init: SchedulerInit) {
    this.options = parseSchedulerOptions(init.options);
    this.#transport = init.transport;
    this.#clock = init.clock;
    this.#logger = init.logger ?? noopLogger;
    this.#tracer = init.tracer;
    this.#events = new SchedulerEvents((error) => this.#logger.error({ error }, 'a scheduler event listener threw'));
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof SchedulerEventMap>(name: K, listener: SchedulerListener<K>): () => void {
    return this.#events.on(name, listener);
  }

  /** Connects the transport and joins the group. */
  async start(): Promise<void> {
    if (this.#running) throw new StateError('the scheduler is already running');
    const groupFenced = this.options.transactional && this.options.transactionalFencing === 'group';
    if (groupFenced && this.#transport.groupFencedTransactions !== true) {
      throw new UnsupportedError(
        "transactionalFencing 'group' needs an adapter that fences transactions by the consumer group (groupFencedTransactions: node-rdkafka); this one cannot: use 'partition'",
      );
    }
    this.#memberTransactionalId = groupFenced
      ? `${this.options.transactionalIdPrefix ?? this.options.groupId}-member-${this.options.transactionalMemberId ?? globalThis.crypto.randomUUID()}`
      : undefined;
    this.#running = true;
    this.#membership = 'joining';
    await this.#transport.connect();
    const listener: GroupListener = {
      onAssigned: (partitions) => this.#assign(partitions),
      onRevoked: (partitions) => {
        // Partitions move: a rebalance is under way until the next join completes.
        if (partitions.length > 0) this.#membership = 'rebalancing';
        return this.#revoke(partitions);
      },
      onJoined: (partitions) => {
        this.#membership = 'joined';
        this.#logger.info(
          { groupId: this.options.groupId, partitions: partitions.length },
          partitions.length === 0 ? 'joined the group with no partitions: standing by' : 'joined the group',
        );
      },
      onBatch: (batch) => this.#batch(batch),
      onError: (error) => this.#logger.error({ error }, 'transport error'),
    };
    this.#subscription = await this.#transport.subscribe({ groupId: this.options.groupId, topics: this.options.topics, listener });
    this.#logger.info({ groupId: this.options.groupId, topics: this.options.topics }, 'scheduler joined its group');
  }

  /**
   * Graceful stop: every partition finishes its flush in progress and reports `stopped`, then the
   * member leaves the group and the transport closes.
   */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    const engines = [...this.#engines.values()];
    this.#engines.clear();
    const parked = [...this.#parked.values()];
    this.#parked.clear();
    for (const p of parked) this.#clock.clearTimeout(p.timer);
    await Promise.all([...engines.map((engine) => engine.stop({ report: true })), ...parked.map((p) => p.engine.stop({ report: false }))]);
    await this.#subscription?.close();
    this.#subscription = undefined;
    await this.#transport.close();
    this.#logger.info({}, 'scheduler stopped');
  }

  /** Status of every assigned partition. */
  partitions(): PartitionStatus[] {
    return [...this.#engines.values()].map((engine) => engine.status());
  }

  /**
   * Whether this member is ready, and why:
   *
   * - not running (before {@link Scheduler.start}, after {@link Scheduler.stop}): not ready;
   * - partitions assigned: ready once every one is loaded (halted ones excluded), else not ready
   *   while `k of n` are loading;
   * - no partitions, and a join of the group completed (the transport's `onJoined`): ready, a
   *   **standby** (the group has more members than the topics have partitions); it takes
   *   partitions over when a member leaves;
   * - no partitions, no join completed yet (or a rebalance took them away and is not over): not
   *   ready, joining. A transport without `onJoined` never reports a join: its members are only
   *   ready with partitions.
   */
  readiness(): SchedulerReadiness {
    const groupId = this.options.groupId;
    if (!this.#running) return { ready: false, reason: 'not running' };
    const all = this.partitions();
    if (all.length === 0) {
      if (this.#membership === 'joined') return { ready: true, reason: `standby: member of group ${groupId} with no partitions` };
      return {
        ready: false,
        reason: this.#membership === 'rebalancing' ? `rebalancing: rejoining group ${groupId}` : `joining group ${groupId}`,
      };
    }
    const loading = all.filter((p) => p.state !== 'loaded' && !p.halted).length;
    if (loading > 0) return { ready: false, reason: `loading ${loading} of ${all.length} partition${plural(all.length)}` };
    const halted = all.filter((p) => p.halted).length;
    const loaded = all.length - halted;
    // Schedules that cannot be delivered do not make the member unready (a restart would not help); they are named.
    const undeliverable = all.reduce((sum, p) => sum + p.undeliverable, 0);
    return {
      ready: true,
      reason:
        `${loaded} partition${plural(loaded)} loaded${halted > 0 ? `, ${halted} halted` : ''}` +
        `${undeliverable > 0 ? `, ${undeliverable} undeliverable schedule${plural(undeliverable)}` : ''} (group ${groupId})`,
    };
  }

  /** {@link Scheduler.readiness}`().ready`. */
  isReady(): boolean {
    return this.readiness().ready;
  }

  async #assign(partitions: readonly TopicPartition[]): Promise<void> {
    await Promise.all(
      partitions.map(async (tp) => {
        const key = tpKey(tp);
        const previous = this.#engines.get(key);
        if (previous) await previous.stop({ report: false });
        const memberId = this.#memberTransactionalId;
        const transactionalProducer = !this.options.transactional
          ? undefined
          : memberId !== undefined
            ? await this.#transport.createTransactionalProducer(memberId, { fencedByGroup: { topic: tp.topic, partition: tp.partition } })
            : await this.#transport.createTransactionalProducer(
                `${this.options.transactionalIdPrefix ?? this.options.groupId}-${tp.topic}-${tp.partition}`,
              );
        const parked = this.#parked.get(key);
        if (parked) {
          this.#parked.delete(key);
          this.#clock.clearTimeout(parked.timer);
          if (parked.engine.parked) {
            // Came back soon: resume from where it stopped (fenced again first in transactional mode).
            parked.engine.useTransactionalProducer(transactionalProducer);
            this.#engines.set(key, parked.engine);
            await this.#startAssigned(key, parked.engine);
            return;
          }
        }
        const engine = new PartitionEngine({
          topic: tp.topic,
          partition: tp.partition,
          transport: this.#transport,
          clock: this.#clock,
          options: this.options,
          events: this.#events,
          logger: this.#logger,
          ...(transactionalProducer ? { transactionalProducer } : {}),
          ...(this.#tracer ? { tracer: this.#tracer } : {}),
        });
        this.#engines.set(key, engine);
        await this.#startAssigned(key, engine);
      }),
    );
  }

  /**
   * Starts an assigned partition's engine. Fenced by the group, its producer's `init()` may wait
   * up to the transaction timeout for an earlier owner's open transaction (a stalled member's):
   * the assignment does not wait for it, so the member's other partitions load meanwhile. Fenced
   * by partition, `init()` fences at once and the assignment settles once every engine started.
   */
  #startAssigned(key: string, engine: PartitionEngine): Promise<void> {
    const started = this.#start(key, engine, 0);
    return this.#memberTransactionalId !== undefined ? Promise.resolve() : started;
  }

  /**
   * Starts a partition's engine; when that fails (its transactional producer could not be
   * initialised: the broker is unreachable), retries with a growing back-off for as long as the
   * partition stays assigned to this member. (Failed seeks are retried by the engine itself.)
   */
  async #start(key: string, engine: PartitionEngine, attempt: number): Promise<void> {
    try {
      await engine.start();
    } catch (error) {
      if (!this.#running || this.#engines.get(key) !== engine) return;
      const delayMs = Math.min(START_RETRY_MAX_MS, START_RETRY_BASE_MS * 2 ** attempt);
      this.#logger.error(
        { topic: engine.topic, partition: engine.partition, error, retryInMs: delayMs },
        'partition failed to start; retrying',
      );
      this.#clock.setTimeout(() => void this.#start(key, engine, attempt + 1), delayMs);
    }
  }

  async #revoke(partitions: readonly TopicPartition[]): Promise<void> {
    await Promise.all(
      partitions.map(async (tp) => {
        const key = tpKey(tp);
        const engine = this.#engines.get(key);
        if (!engine) return;
        this.#engines.delete(key);
        const retainMs = this.options.rebalanceRetainMs;
        if (retainMs <= 0 || !this.#running) {
          await engine.stop({ report: false });
          return;
        }
        await engine.park();
        if (!engine.parked || !this.#running) {
          await engine.stop({ report: false });
          return;
        }
        const timer = this.#clock.setTimeout(() => {
          if (this.#parked.get(key)?.engine !== engine) return;
          this.#parked.delete(key);
          void engine.stop({ report: false });
        }, retainMs);
        this.#parked.set(key, { engine, timer });
      }),
    );
  }

  async #batch(batch: PartitionBatch): Promise<void> {
    await this.#engines.get(tpKey(batch))?.handleBatch(batch);
  }
}
