import type { InvalidReason } from '../wire/codec/index.js';
import type { StateName } from '../domain/state.js';

/** A schedule was dispatched: its target and tombstone were produced (and committed, in transactional mode). */
export interface DispatchedEvent {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  readonly offset: number;
  readonly targetTopic: string;
  /** Due time, Unix ms. */
  readonly dueMs: number;
  /** When the produce was acknowledged, Unix ms (scheduler clock). */
  readonly dispatchedAtMs: number;
  /** `dispatchedAtMs − dueMs`, never negative (never early). */
  readonly lateMs: number;
  /**
   * True when an earlier, failed at-least-once flush already included this schedule, so its
   * target may have been written twice. Always false in transactional mode.
   */
  readonly possibleDuplicate: boolean;
}

/** A schedules-topic record could not be used; it was counted, logged once and skipped. */
export interface InvalidEvent {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly reason: InvalidReason;
  readonly detail: string;
  /** Whether it was copied to the dead-letter topic. */
  readonly deadLettered: boolean;
}

/** Why a valid schedule could not be delivered (see {@link UndeliverableEvent}). */
export type UndeliverableReason =
  /** The Kafka client refused the record before sending it (e.g. a header value node-rdkafka cannot send). */
  | 'refused'
  /** The target topic (or partition) does not exist. */
  | 'target_missing'
  /** The target record is larger than the broker or client accepts. */
  | 'too_large'
  /** Any other error, repeated on this schedule alone while other schedules went out. */
  | 'failing';

/**
 * A valid schedule cannot be delivered: the client refused its record, or producing it failed on
 * its own `attempts` times and it is at least `undeliverableAfterMs` past due (while other
 * schedules of the partition went out, so not a cluster outage). `dead_lettered`: it was copied to
 * the dead-letter topic with the reason and tombstoned, so no owner retries it again; `kept`: no
 * dead-letter topic is set, so it stays in memory and is retried every 5 minutes (emitted once).
 */
export interface UndeliverableEvent {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  readonly offset: number;
  readonly targetTopic: string;
  readonly dueMs: number;
  readonly reason: UndeliverableReason;
  readonly detail: string;
  /** Failed attempts so far. */
  readonly attempts: number;
  readonly action: 'dead_lettered' | 'kept';
}

/**
 * A valid schedule was not dispatched and will not be: `epoch_floor`, it is due more than an hour
 * before the newest tombstoned due time of its partition, which the reference takes as dispatched
 * already (ksched.md §4). Reported once the partition is loaded and no later record closed it.
 */
export interface SkippedEvent {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  readonly offset: number;
  readonly dueMs: number;
  readonly reason: 'epoch_floor';
  readonly detail: string;
}

/** A partition finished loading (or catching up after it came back) and starts dispatching. */
export interface LoadedEvent {
  readonly topic: string;
  readonly partition: number;
  /** Time from the start of the load to loaded, ms. */
  readonly durationMs: number;
  /** Schedules held in memory (those due before the window's end, overdue ones included). */
  readonly buffered: number;
  readonly reloads: number;
  /** Always `end_offset`: the position reached the end offset taken when the read started. */
  readonly by: 'end_offset';
}

/**
 * A partition started reading: `assigned`, from its logical beginning; `resumed`, from where it
 * stopped, because it came back to this member soon after a revocation (its buffer was kept);
 * `transaction`, from where it stopped, after a failed transaction whose outcome had to be
 * settled (re-fenced, then caught up, so that a commit that went through after all is seen).
 */
export interface ReloadEvent {
  readonly topic: string;
  readonly partition: number;
  readonly reason: 'assigned' | 'resumed' | 'transaction';
  readonly reloads: number;
}

/**
 * A background read of the partition that moves the window's end forward while dispatch goes on:
 * `started`, then `completed` (merged into the buffer) or `failed` (retried later).
 */
export interface RefillEvent {
  readonly topic: string;
  readonly partition: number;
  readonly phase: 'started' | 'completed' | 'failed';
  /** The window's end the read fills up to (completed: the end now in force), Unix ms. */
  readonly windowEndMs: number;
  /** Records read (completed). */
  readonly records?: number;
  /** Schedules the read added to the buffer (completed). */
  readonly added?: number;
  /** From start to merge (completed) or to the failure, ms. */
  readonly durationMs?: number;
}

/**
 * The buffer reached `bufferMaxBytes` and its window was shortened: the schedules due at or after
 * `windowEndMs` left memory (none is dropped: a later background read brings them back).
 */
export interface HorizonEvent {
  readonly topic: string;
  readonly partition: number;
  readonly reason: 'memory';
  readonly windowEndMs: number;
  readonly previousEndMs: number;
  /** Schedules taken out of memory. */
  readonly evicted: number;
}

/** Something failed; the engine retries where it can. */
export interface ErrorEvent {
  readonly topic: string;
  readonly partition: number;
  /** `flush`: a dispatch batch failed (retried); `load`: seeking or reading failed; `incompatible`: a newer schema halted the partition; `transactions`: the transactional producer could not start; `states`: a states report could not be produced; `dead_letter`: copying an invalid record failed (undeliverable schedules are dead-lettered by flushes: `flush`); `refill`: a background read failed (retried). */
  readonly phase: 'flush' | 'load' | 'incompatible' | 'transactions' | 'states' | 'dead_letter' | 'refill';
  readonly error: unknown;
}

/** A partition changed state. */
export interface StateEvent {
  readonly topic: string;
  readonly partition: number;
  readonly state: StateName;
  /** True when the partition is halted by an incompatible record. */
  readonly halted: boolean;
}

/**
 * One produce call of a flush succeeded. With transactions: one batch's targets and tombstones
 * (one transaction). Without: the tombstones of one batch and the targets of a later one (see the
 * engine's pipelined flush), so a batch takes part in two calls.
 */
export interface FlushEvent {
  readonly topic: string;
  readonly partition: number;
  /** Records in the call (targets + tombstones). */
  readonly records: number;
  readonly durationMs: number;
  readonly transactional: boolean;
}

/** Event names and payloads (namespace `scheduler.*` in logs and diagnostics). */
export interface SchedulerEventMap {
  dispatched: DispatchedEvent;
  invalid: InvalidEvent;
  undeliverable: UndeliverableEvent;
  skipped: SkippedEvent;
  loaded: LoadedEvent;
  reload: ReloadEvent;
  refill: RefillEvent;
  horizon: HorizonEvent;
  error: ErrorEvent;
  state: StateEvent;
  flush: FlushEvent;
}

/** A listener for one event. */
export type SchedulerListener<K extends keyof SchedulerEventMap> = (event: SchedulerEventMap[K]) => void;

/**
 * A small typed event emitter. Listener exceptions are caught (and given to `onListenerError`) so
 * that a metrics hook can never break dispatch.
 */
export class SchedulerEvents {
  readonly #listeners = new Map<keyof SchedulerEventMap, Set<(event: never) => void>>();
  readonly #onListenerError: (error: unknown) => void;

  constructor(onListenerError: (error: unknown) => void = () => {}) {
    this.#onListenerError = onListenerError;
  }

  /** Subscribes; returns the function that unsubscribes. */
  on<K extends keyof SchedulerEventMap>(name: K, listener: SchedulerListener<K>): () => void {
    let set = this.#listeners.get(name);
    if (!set) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(listener as (event: never) => void);
    return () => set.delete(listener as (event: never) => void);
  }

  emit<K extends keyof SchedulerEventMap>(name: K, event: SchedulerEventMap[K]): void {
    const set = this.#listeners.get(name);
    if (!set) return;
    for (const listener of set) {
      try {
        (listener as SchedulerListener<K>)(event);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
  }
}
