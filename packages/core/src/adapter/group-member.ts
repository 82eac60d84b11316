/**
 * The frame every adapter's group member shares, written once: {@link GroupMemberBase} holds the
 * member's context, its partitions and {@link ListenerDelivery}, and does what is the same for any
 * client:
 *
 * - joining: registered with the transport before the client joins (the first `onAssigned` may
 *   already seek); a failed join releases the client, unregisters and rejects with a mapped error;
 * - `seek` / `seekToBeginning` on a partition held now: the watermarks are fetched, the offset is
 *   clamped into them and handed to the client, unless the partition was revoked meanwhile;
 * - `commitOffsets` refused once closing, nothing sent for an empty list;
 * - new partitions: held, paused until their `onAssigned` settled, then activated; each
 *   assignment, even an empty one, then tells `onJoined` the whole assignment;
 * - `close()` once: nothing is delivered any more, every partition is revoked (awaiting
 *   `onRevoked`), then the client leaves and the transport forgets the member;
 * - a failed consume: logged when the client retries by itself, else told to the listener.
 *
 * An adapter extends it with its client: joining (`connectClient`), pausing and resuming,
 * seeking, committing, what a revoked partition drops, and leaving.
 *
 * @module
 */
import { StateError } from '../errors.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { TopicPartition, TopicPartitionOffset, Watermarks } from '../ports/transport.js';
import type { ErrorMapper } from './errors.js';
import { ListenerDelivery, tpKey } from './listener-delivery.js';
import type { HeldPartition } from './listener-delivery.js';
import type { GroupMemberHandle, MemberContext, Tracker } from './transport-shell.js';

/** Settings of {@link GroupMemberBase}: the shell's context and the adapter's rules. */
export interface GroupMemberBaseOptions extends MemberContext {
  /** Deliveries again of a batch whose `onBatch` rejected, before the partition stops. */
  readonly maxBatchRetries: number;
  /** The adapter's error mapping. */
  readonly errors: ErrorMapper;
  /** Timers of the redelivery backoff. Default: the system clock. */
  readonly clock?: Clock;
}

/** A group member over a client (see the module comment); `S` is the adapter's per-partition state. */
export abstract class GroupMemberBase<S extends HeldPartition> implements GroupMemberHandle {
  readonly groupId: string;
  readonly topics: readonly string[];
  protected readonly logger: Logger;
  protected readonly errors: ErrorMapper;
  /** The listener rules, with the partitions held. */
  protected readonly delivery: ListenerDelivery<S>;
  /** The partitions held, by `tpKey` (the delivery's map). */
  protected readonly states: Map<string, S>;
  readonly #members: Tracker<GroupMemberHandle>;
  readonly #watermarks: (tp: TopicPartition) => Promise<Watermarks>;
  #closed: Promise<void> | undefined;

  constructor(options: GroupMemberBaseOptions) {
    this.groupId = options.groupId;
    this.topics = options.topics;
    this.logger = options.logger;
    this.errors = options.errors;
    this.#members = options.members;
    this.#watermarks = options.watermarks;
    this.delivery = new ListenerDelivery({
      listener: options.listener,
      logger: options.logger,
      groupId: options.groupId,
      maxBatchRetries: options.maxBatchRetries,
      ...(options.clock !== undefined ? { clock: options.clock } : {}),
    });
    this.states = this.delivery.states;
  }

  /** True once the member closes (or its join failed): nothing is delivered any more. */
  protected get closing(): boolean {
    return this.delivery.closing;
  }

  /**
   * Registers with the transport and joins the group through the client; resolves once the client
   * runs (the first `onAssigned` may run, and seek, before). A failed join leaves no trace: the
   * client is released, the member unregistered, and the error mapped.
   */
  async join(): Promise<this> {
    this.#members.add(this);
    try {
      await this.connectClient();
    } catch (error) {
      this.delivery.closing = true;
      await this.abandon();
      this.#members.delete(this);
      throw this.errors.toTransportError(error, `joining group ${this.groupId} on ${this.topics.join(', ')}`);
    }
    return this;
  }

  // ---- port operations ------------------------------------------------------------------------

  /** Whether `tp` is assigned to this member and not revoked (a transaction fenced by the group checks it first). */
  holds(tp: TopicPartition): boolean {
    const st = this.states.get(tpKey(tp.topic, tp.partition));
    return st !== undefined && !this.closing && this.delivery.isCurrent(st);
  }

  /** See `Transport.seekToBeginning`: a seek to the low watermark. */
  seekToBeginning(tp: TopicPartition): Promise<Watermarks> {
    return this.seek(tp, Number.NEGATIVE_INFINITY);
  }

  /** See `Transport.seek`: `offset` is clamped into the partition's watermarks fetched now. */
  async seek(tp: TopicPartition, offset: number): Promise<Watermarks> {
    const st = this.delivery.held(tp);
    const wm = await this.#watermarks(tp);
    // Revoked while the watermarks were fetched (a rebalance is normal): nothing will be delivered any more; no seek.
    if (!this.delivery.isCurrent(st)) return wm;
    await this.seekClient(st, Math.min(Math.max(offset, wm.low), wm.high), wm);
    return wm;
  }

  /** See `Transport.commitOffsets`. */
  async commitOffsets(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (this.closing) throw new StateError('the subscription is closed; offsets cannot be committed');
    if (offsets.length === 0) return;
    await this.commit(offsets);
  }

  /** Revokes every partition (awaiting `onRevoked`), then leaves the group and disconnects. */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    this.delivery.closing = true;
    this.stopFetching();
    this.revoke(this.delivery.heldStates());
    await this.delivery.groupSettled();
    try {
      await this.leave();
    } finally {
      this.#members.delete(this);
    }
  }

  // ---- for the adapter ------------------------------------------------------------------------

  /** Watermarks of one partition (see {@link MemberContext.watermarks}). */
  protected watermarks(tp: TopicPartition): Promise<Watermarks> {
    return this.#watermarks(tp);
  }

  /**
   * Takes the partitions of `tps` not held yet: `create` adds the adapter's fields, the new ones
   * are paused (nothing is fetched before their `onAssigned` settled), `onAssigned` is queued,
   * then `prepare` runs and every one still being assigned becomes active and is `activate`d.
   * An adapter calls it once per completed join with the member's whole new assignment (or, with
   * an incremental protocol, what it gained), **also when that is empty**: `onJoined` follows with
   * every partition held then.
   */
  protected assign(
    tps: Iterable<TopicPartition>,
    create: (base: HeldPartition) => S,
    prepare?: (current: readonly S[]) => Promise<void>,
  ): void {
    const added = this.delivery.add(tps, create);
    if (added.length > 0) {
      this.pause(added);
      this.delivery.assigned(added, async (current) => {
        if (prepare !== undefined) await prepare(current);
        for (const st of current) {
          // Revoked or replaced while preparing.
          if (st.phase !== 'assigning') continue;
          st.phase = 'active';
          this.activate(st);
        }
      });
    }
    this.delivery.joined();
  }

  /**
   * Marks `states` revoked now (nothing more is delivered; `forget` drops what the adapter holds
   * of them) and queues `onRevoked` for them, after their in-flight `onBatch`; then `after`.
   */
  protected revoke(states: readonly S[], after?: () => void): void {
    if (states.length === 0 && after === undefined) return;
    for (const st of states) this.forget(st);
    this.delivery.revoke(states, after);
  }

  /**
   * A consume error of the client: logged with `note` when `transient` (the client retries by
   * itself), else told to the listener (`onError`).
   */
  protected consumeFailed(error: unknown, transient: boolean, note: string): void {
    const mapped = this.errors.toTransportError(error, `consuming group ${this.groupId}`);
    if (transient) this.logger.warn({ groupId: this.groupId, error: mapped }, note);
    else this.delivery.reportError(mapped);
  }

  /** Connects the client, subscribes to `topics` and starts consuming. */
  protected abstract connectClient(): Promise<void>;
  /** Releases the client after a failed {@link GroupMemberBase.join} (never rejects). */
  protected abstract abandon(): Promise<void>;
  /** Moves the client's position of `st` to `offset` (clamped into `wm`, the partition still held). */
  protected abstract seekClient(st: S, offset: number, wm: Watermarks): Promise<void> | void;
  /** Commits `offsets` (non-empty) for the group. */
  protected abstract commit(offsets: readonly TopicPartitionOffset[]): Promise<void>;
  /** Stops fetching new partitions' records (until {@link GroupMemberBase.activate}). */
  protected abstract pause(states: readonly S[]): void;
  /** Starts delivering `st`, now active. */
  protected abstract activate(st: S): void;
  /** Drops what the adapter holds of a partition being revoked (queued records, timers, a seek window). */
  protected abstract forget(st: S): void;
  /** At close, before the partitions are revoked: e.g. stop fetching. Default: nothing. */
  protected stopFetching(): void {}
  /** At close, once every `onRevoked` settled: leave the group and disconnect. */
  protected abstract leave(): Promise<void>;
}
