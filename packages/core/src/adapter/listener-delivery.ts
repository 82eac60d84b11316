/**
 * The `GroupListener` delivery rules every group member implements, written once. A member keeps
 * its client-specific work (fetching, pausing, seeking, rebalance callbacks) and leaves to
 * {@link ListenerDelivery}:
 *
 * - the partitions it holds, each with a phase (`assigning` → `active` → `revoked`) and a
 *   generation that every seek and every revocation bumps, so a delivery prepared under an older
 *   generation is dropped;
 * - group callbacks (`onAssigned`, `onRevoked`, `onJoined`) one after the other on one chain; `onRevoked` of a
 *   partition waits for its in-flight `onBatch`, and nothing is delivered for it once revoked;
 * - `onBatch` serial per partition; a rejected batch is delivered again after a backoff (the same
 *   batch: rejecting does not skip it), at most `maxBatchRetries` times, then the partition stops
 *   until its next seek or reassignment;
 * - errors to `onError`, or to the logger ("no onError listener") without one; an `onError` that
 *   throws is logged, never rethrown.
 *
 * @module
 */
import { TransportError } from '../errors.js';
import { systemClock } from '../ports/clock.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { GroupListener, PartitionBatch, TopicPartition } from '../ports/transport.js';

/** Longest backoff before a batch whose `onBatch` rejected is delivered again, ms. */
export const RETRY_BACKOFF_MAX_MS = 5_000;

/** Where a held partition is: being assigned (`onAssigned` running), delivering, or revoked. */
export type PartitionPhase = 'assigning' | 'active' | 'revoked';

/** What the rules need of a member's per-partition state; members add their own fields. */
export interface HeldPartition extends TopicPartition {
  readonly key: string;
  phase: PartitionPhase;
  /** Bumped by every seek and by revocation: deliveries prepared under an older generation are dropped. */
  generation: number;
  /** Delivery stopped after too many rejected batches, until the next seek. */
  stopped: boolean;
  /** Serialises the listener calls of this partition (never rejects). */
  chain: Promise<unknown>;
}

/** How one delivery ended. */
export type Delivery = 'delivered' | 'dropped' | 'stopped';

/** Settings of {@link ListenerDelivery}. */
export interface ListenerDeliveryOptions {
  readonly listener: GroupListener;
  readonly logger: Logger;
  readonly groupId: string;
  /** Deliveries again of a batch whose `onBatch` rejected, before the partition stops. */
  readonly maxBatchRetries: number;
  /** Timers of the redelivery backoff. Default: the system clock. */
  readonly clock?: Clock;
}

/** What a member does around one delivery. */
export interface DeliveryHooks {
  /** False when a rejected batch is no longer worth offering again (e.g. an EOF notice overtaken by records). */
  readonly retry?: () => boolean;
  /** The partition stops after too many rejections: stop fetching it (pause, drop what is queued). */
  stop(): void;
}

/** The key of a partition in maps. */
export function tpKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** `{ topic, partition }` only (a listener gets no member state). */
export function plainTp({ topic, partition }: TopicPartition): TopicPartition {
  return { topic, partition };
}

/** The delivery rules of one group member (see the module comment). */
export class ListenerDelivery<S extends HeldPartition> {
  /** The partitions held, by {@link tpKey}; a revoked one stays until its `onRevoked` settled. */
  readonly states = new Map<string, S>();
  /** Set when the member closes: nothing is delivered any more. */
  closing = false;
  readonly #options: ListenerDeliveryOptions;
  #groupChain: Promise<void> = Promise.resolve();

  constructor(options: ListenerDeliveryOptions) {
    this.#options = options;
  }

  // ---- held partitions ------------------------------------------------------------------------

  /** The partitions held and not revoked. */
  heldStates(): S[] {
    return [...this.states.values()].filter((st) => st.phase !== 'revoked');
  }

  /** The state of a partition held now; a `TransportError` for one this member does not own. */
  held(tp: TopicPartition): S {
    const st = this.states.get(tpKey(tp.topic, tp.partition));
    if (st === undefined || st.phase === 'revoked' || this.closing) {
      throw new TransportError(`partition ${tp.partition} of ${tp.topic} is not assigned to this member`, { retriable: false });
    }
    return st;
  }

  /** True while `st` is still this member's current state of its partition (not revoked or replaced). */
  isCurrent(st: S): boolean {
    return this.states.get(st.key) === st && st.phase !== 'revoked';
  }

  /**
   * New states for the partitions of `tps` not held yet (phase `assigning`, generation above any
   * revoked predecessor's); `create` adds the member's own fields.
   */
  add(tps: Iterable<TopicPartition>, create: (base: HeldPartition) => S): S[] {
    const added: S[] = [];
    for (const { topic, partition } of tps) {
      const key = tpKey(topic, partition);
      const current = this.states.get(key);
      if (current !== undefined && current.phase !== 'revoked') continue;
      const base: HeldPartition = {
        topic,
        partition,
        key,
        phase: 'assigning',
        generation: (current?.generation ?? 0) + 1,
        stopped: false,
        chain: Promise.resolve(),
      };
      const st = create(base);
      this.states.set(key, st);
      added.push(st);
    }
    return added;
  }

  // ---- group callbacks ------------------------------------------------------------------------

  /** Runs `task` after the group callbacks queued before it; a failure goes to `onError`. */
  groupTask(task: () => Promise<void>): void {
    this.#groupChain = this.#groupChain.then(task).catch((error: unknown) => this.reportError(error));
  }

  /** Settles once every group callback queued so far has. */
  groupSettled(): Promise<void> {
    return this.#groupChain;
  }

  /**
   * Queues `onAssigned` for `added`, then `activate` with those still being assigned (not revoked
   * or replaced meanwhile), which the member starts delivering.
   */
  assigned(added: readonly S[], activate: (current: S[]) => Promise<void> | void): void {
    if (added.length === 0) return;
    this.groupTask(async () => {
      try {
        await this.#options.listener.onAssigned(added.map(plainTp));
      } catch (error) {
        this.reportError(error);
      }
      await activate(added.filter((st) => st.phase === 'assigning' && this.states.get(st.key) === st));
    });
  }

  /**
   * Queues `onJoined` (when the listener has it) with the partitions held now, not revoked (the
   * member's whole assignment): after the `onRevoked` / `onAssigned` queued before it, i.e. those
   * of the join it reports. Not called once the member closes.
   */
  joined(): void {
    const { listener } = this.#options;
    if (listener.onJoined === undefined || this.closing) return;
    const partitions = this.heldStates().map(plainTp);
    this.groupTask(async () => {
      if (this.closing) return;
      try {
        await listener.onJoined?.(partitions);
      } catch (error) {
        this.reportError(error);
      }
    });
  }

  /**
   * Marks `states` revoked now (nothing more is delivered) and queues `onRevoked` for them, after
   * their in-flight `onBatch`; then forgets them and runs `after` (e.g. giving the partitions up).
   */
  revoke(states: readonly S[], after?: () => void): void {
    for (const st of states) {
      st.phase = 'revoked';
      st.generation++;
    }
    this.groupTask(async () => {
      // An in-flight onBatch settles first: callbacks of one partition never overlap.
      await Promise.all(states.map((st) => st.chain.catch(() => {})));
      try {
        if (states.length > 0) await this.#options.listener.onRevoked(states.map(plainTp));
      } catch (error) {
        this.reportError(error);
      } finally {
        for (const st of states) if (this.states.get(st.key) === st) this.states.delete(st.key);
        after?.();
      }
    });
  }

  // ---- delivery -------------------------------------------------------------------------------

  /**
   * Delivers `batch` of `st` (prepared under `generation`), again after a backoff while `onBatch`
   * rejects, at most `maxBatchRetries` times; then `hooks.stop()` and the partition stops until a
   * seek (the error says so to `onError`). Dropped when the generation moved on meanwhile.
   */
  async deliver(st: S, generation: number, batch: PartitionBatch, hooks: DeliveryHooks): Promise<Delivery> {
    for (let attempt = 1; ; attempt++) {
      const result = await this.#attempt(st, generation, batch);
      if (result !== 'failed') return result;
      if (st.generation !== generation || st.phase !== 'active') return 'dropped';
      if (hooks.retry !== undefined && !hooks.retry()) return 'dropped';
      if (attempt > this.#options.maxBatchRetries) {
        st.stopped = true;
        hooks.stop();
        this.reportError(
          new TransportError(
            `onBatch for ${st.topic}/${st.partition} (position ${batch.position}) rejected ${attempt} times in a row; ` +
              'delivery of this partition stopped until its next seek or reassignment',
            { retriable: false },
          ),
        );
        return 'stopped';
      }
      await this.#sleep(Math.min(100 * 2 ** (attempt - 1), RETRY_BACKOFF_MAX_MS));
    }
  }

  /** One `onBatch` call on the partition's chain; stale (older generation, revoked, closing) is dropped. */
  #attempt(st: S, generation: number, batch: PartitionBatch): Promise<'delivered' | 'dropped' | 'failed'> {
    const run = async (): Promise<'delivered' | 'dropped' | 'failed'> => {
      if (st.generation !== generation || st.phase !== 'active' || this.closing) return 'dropped';
      try {
        await this.#options.listener.onBatch(batch);
        return 'delivered';
      } catch (error) {
        this.reportError(error);
        return 'failed';
      }
    };
    const result = st.chain.then(run, run);
    st.chain = result;
    return result;
  }

  #sleep(ms: number): Promise<void> {
    const clock = this.#options.clock ?? systemClock;
    return new Promise((resolve) => {
      clock.setTimeout(resolve, ms);
    });
  }

  // ---- errors ---------------------------------------------------------------------------------

  /** Tells `onError`, or logs the error when there is none; an `onError` that throws is logged. */
  reportError(error: unknown): void {
    const { listener, logger, groupId } = this.#options;
    const onError = listener.onError;
    if (onError === undefined) {
      logger.error({ groupId, error }, 'consumer error (no onError listener)');
      return;
    }
    try {
      onError.call(listener, error);
    } catch (thrown) {
      logger.error({ groupId, error: thrown }, 'onError threw');
    }
  }
}
