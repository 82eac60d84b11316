/**
 * The kafkajs module this adapter uses: kafkajs as installed, loaded as a private copy with four
 * corrections, each a module of the copy replaced or wrapped (`copyOverrides`):
 *
 * 1. **Read committed.** kafkajs 2.2.4 (the latest release) lets some aborted records through in
 *    read-committed mode, which makes a transactional scheduler reload schedules that were never
 *    committed. The copy's consumer filter module (`src/consumer/filterAbortedMessages.js`) is
 *    replaced by ours (see `read-committed.ts`).
 * 2. **The member id across a consumer restart.** When a broker restart leaves kafkajs's fetch loop
 *    without a broker, its runner bails on `KafkaJSNoBrokerAvailableError` (it does not retry it),
 *    the consumer crashes and kafkajs restarts it with a new `ConsumerGroup`, whose member id is
 *    null: it joins as a *new* member, and the coordinator, which still has the old member (its
 *    group state survives the restart), completes the rebalance only when the old member's session
 *    expires, so no partition is assigned for up to the session timeout after the broker is back.
 *    The copy's `src/consumer/consumerGroup.js` is wrapped: its class is a subclass of kafkajs's
 *    own that remembers the last member id per `cluster` (one per consumer, the same across its
 *    restarts) and starts a new group of that cluster with it. The restarted consumer rejoins as
 *    the member the coordinator knows, which completes the rebalance at once: on the real broker,
 *    partitions held again 0.2–6.4 s after the broker was back (what remains is kafkajs's delay
 *    before it restarts the consumer; the join itself takes milliseconds), against the whole
 *    session before (45.8 s with a 45 s session, 61 s with 60 s;
 *    `test/broker-restart.integration.test.ts`). With the runner wrapped too (3. below),
 *    0.9–2.9 s. A null member id is remembered too:
 *    after a LeaveGroup (a clean stop), or after `UNKNOWN_MEMBER_ID` (the coordinator had already
 *    removed the member: kafkajs resets the id and joins as a new member, as before).
 *    It was off for a while (`KEEP_MEMBER_ID`): in 3 chaos broker-restart runs the consumer
 *    revoked everything and never rejoined, once with it off too. The cause was elsewhere (a
 *    `REBALANCING` kafkajs did not follow with a join; see `group-member.ts`, fixed there).
 *
 * 3. **A prompt restart.** kafkajs restarts a crashed consumer after the crash error's
 *    `retryTime`, the last back-off of its retries (5–11 s seen after a broker restart). Now that
 *    a restart keeps the membership it is cheap, so the copy's `src/consumer/runner.js` is wrapped
 *    to restart at most {@link MAX_RESTART_DELAY_MS} after a crash.
 * 4. **A lighter produce and fetch path.** The copy's `src/producer/groupMessagesPerPartition.js` is
 *    replaced by a linear one (kafkajs's is quadratic in the messages of one partition), and its
 *    `src/protocol/encoder.js` is wrapped in a subclass that allocates less (no zero-filled
 *    ArrayBuffer per encoder, no array and Buffer per varint), and its record encoder
 *    (`src/protocol/recordBatch/record/v0/index.js`) writes each record into one buffer instead
 *    of an encoder per header. The bytes sent are the same. Its record decoder
 *    (`src/protocol/recordBatch/record/v0/decoder.js`) computes with numbers while they are exact
 *    and builds headers in one object: the same records read. See `encoding.ts`.
 *
 * A patch applied by a package manager reaches only this repository, not a user who installs the
 * adapter from the registry, so the adapter corrects its own kafkajs instead: it loads the
 * installed kafkajs into a module map of its own with those modules replaced or wrapped. The
 * application's own `import 'kafkajs'` is not affected (it gets the usual, unchanged module,
 * whether it was loaded before or after the adapter); the adapter's clients always use the
 * corrected copy.
 *
 * @module
 */
import Module, { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as KafkaJsNamespace from 'kafkajs';
import { filterAbortedRecords } from './read-committed.js';
import {
  groupMessagesPerPartition,
  lighterEncoder,
  lighterRecord,
  lighterRecordDecoder,
  type KafkaJsEncoderClass,
  type RecordDecoder,
  type RecordEncoder,
} from './encoding.js';

/** The kafkajs module's exports (its CommonJS `module.exports`). */
export type KafkaJsModule = typeof KafkaJsNamespace;

const require = createRequire(import.meta.url);

/** The module kafkajs's consumer batch requires for its read-committed filtering. */
const FILTER_MODULE = 'src/consumer/filterAbortedMessages.js';
/** kafkajs's consumer batch: one partition's fetched records, filtered on construction. */
const BATCH_MODULE = 'src/consumer/batch.js';
/** kafkajs's group membership of a consumer: a new one on every (re)start of the consumer. */
const CONSUMER_GROUP_MODULE = 'src/consumer/consumerGroup.js';
/** kafkajs's producer's grouping of one topic's messages by partition (quadratic; see `encoding.ts`). */
const GROUP_MODULE = 'src/producer/groupMessagesPerPartition.js';
/** kafkajs's protocol encoder (an ArrayBuffer per record and header; see `encoding.ts`). */
const ENCODER_MODULE = 'src/protocol/encoder.js';
/** kafkajs's encoder of one record (an encoder per header; see `encoding.ts`). */
const RECORD_MODULE = 'src/protocol/recordBatch/record/v0/index.js';
/** kafkajs's decoder of one fetched record (64-bit Longs, a spread per header; see `encoding.ts`). */
const RECORD_DECODER_MODULE = 'src/protocol/recordBatch/record/v0/decoder.js';
/** kafkajs's consumer runner: reports a crash to the consumer, which restarts after the error's `retryTime`. */
const RUNNER_MODULE = 'src/consumer/runner.js';
/**
 * Longest wait before kafkajs restarts a crashed consumer, ms. kafkajs waits the crash error's
 * `retryTime` (the last back-off of the retries that ran out: 5-11 s seen after a broker
 * restart). A restart keeps the member id (see {@link keepingMemberId}), so it is cheap; waiting
 * longer only delays the rejoin once the broker is back.
 */
export const MAX_RESTART_DELAY_MS = 1000;
/** Whether the copy keeps the member id across consumer restarts ({@link keepingMemberId}). */
export const KEEP_MEMBER_ID = true;

/** The batch class of a loaded copy (for tests: it shows which filter the copy's consumer uses). */
export type KafkaJsBatchClass = new (
  topic: string,
  fetchedOffset: string,
  partitionData: { partition: number; highWatermark: string; messages: unknown[]; abortedTransactions?: unknown[] },
) => { messages: unknown[] };

/** What the adapter relies on of kafkajs's `ConsumerGroup` (the options are kafkajs's own). */
export interface KafkaJsConsumerGroup {
  /** The member id the next JoinGroup sends (`null`: join as a new member); kafkajs assigns it. */
  memberId: string | null;
  /** LeaveGroup (when the group has a member id), then a null member id. */
  leave(): Promise<void>;
  /** JoinGroup + SyncGroup, retried (an `UNKNOWN_MEMBER_ID` answer resets the member id first). */
  joinAndSync(): Promise<void>;
}
/** The consumer group class of a loaded copy (for tests). */
export type KafkaJsConsumerGroupClass = new (options: { readonly cluster: object } & Record<string, unknown>) => KafkaJsConsumerGroup;

/** A private kafkajs copy, its consumer's batch class and its consumer group class. */
export interface LoadedKafkaJs {
  readonly kafkajs: KafkaJsModule;
  readonly Batch: KafkaJsBatchClass;
  readonly ConsumerGroup: KafkaJsConsumerGroupClass;
  /** A module of the copy by its path inside the kafkajs package, e.g. `src/protocol/encoder.js` (for tests). */
  readonly module: (path: string) => unknown;
}

/**
 * kafkajs's `ConsumerGroup` with the member id kept across a consumer's restarts: the last member
 * id a group of a cluster had (joined, reset or left) is the one a new group of that cluster starts
 * with. One memory per class returned (per copy); clusters are held weakly.
 */
export function keepingMemberId(ConsumerGroup: KafkaJsConsumerGroupClass): KafkaJsConsumerGroupClass {
  const lastMemberId = new WeakMap<object, string | null>();
  return class MemberKeepingConsumerGroup extends ConsumerGroup {
    constructor(options: { readonly cluster: object } & Record<string, unknown>) {
      super(options); // sets `this.memberId = null`: replaced below by the remembered one
      const { cluster } = options;
      let memberId = lastMemberId.get(cluster) ?? null;
      // kafkajs assigns `memberId` directly (join, leave, UNKNOWN_MEMBER_ID in the group and in the
      // runner): every assignment is remembered for the cluster.
      Object.defineProperty(this, 'memberId', {
        configurable: true,
        enumerable: true,
        get: () => memberId,
        set: (value: string | null) => {
          memberId = value;
          lastMemberId.set(cluster, value);
        },
      });
    }
  };
}

/** The options kafkajs gives its consumer runner (only `onCrash` matters here). */
type RunnerClass = new (options: { onCrash: (error: unknown) => unknown } & Record<string, unknown>) => object;

/**
 * Wraps kafkajs's consumer runner so that a crashed consumer restarts at most `maxDelayMs` later
 * (kafkajs takes the delay from the crash error's `retryTime`; see {@link MAX_RESTART_DELAY_MS}).
 */
export function promptRestart(Runner: RunnerClass, maxDelayMs: number): RunnerClass {
  return class PromptlyRestartingRunner extends Runner {
    constructor(options: { onCrash: (error: unknown) => unknown } & Record<string, unknown>) {
      const onCrash = options.onCrash;
      super({
        ...options,
        onCrash: (error: unknown) => {
          const crash = error as { retryTime?: unknown } | null;
          if (typeof crash?.retryTime === 'number' && crash.retryTime > maxDelayMs) crash.retryTime = maxDelayMs;
          return onCrash(error);
        },
      });
    }
  };
}

/**
 * How the private copy differs from kafkajs as installed: per module (path inside the kafkajs
 * package), what the copy gets instead of its exports, given a loader of the original module (in
 * the copy's own module map). Loaded once per copy, when first required.
 */
function copyOverrides(filter: (input: never) => unknown): ReadonlyMap<string, (original: () => unknown) => unknown> {
  return new Map<string, (original: () => unknown) => unknown>([
    [FILTER_MODULE, () => filter],
    // A switch kept for diagnosis: without it a restarted consumer rejoins as a new member and
    // waits for its old membership's session (docs/reliability.md finding 6).
    ...(KEEP_MEMBER_ID
      ? [[CONSUMER_GROUP_MODULE, (original: () => unknown) => keepingMemberId(original() as KafkaJsConsumerGroupClass)] as const]
      : []),
    [RUNNER_MODULE, (original) => promptRestart(original() as RunnerClass, MAX_RESTART_DELAY_MS)],
    [GROUP_MODULE, () => groupMessagesPerPartition],
    [ENCODER_MODULE, (original) => lighterEncoder(original() as KafkaJsEncoderClass)],
    [RECORD_MODULE, (original) => lighterRecord(original() as RecordEncoder)],
    [RECORD_DECODER_MODULE, (original) => lighterRecordDecoder(original() as RecordDecoder)],
  ]);
}

/** The parts of Node's CommonJS loader the private load uses (stable, but not in the typings). */
interface Loader {
  _resolveFilename(request: string, parent: Module): string;
}
interface LoadableModule extends Module {
  load(filename: string): void;
}

/**
 * Loads kafkajs (resolved from this package) as a private copy with `filter` as its
 * read-committed filter and the member-keeping consumer group (see the module comment). The copy
 * lives in a module map of its own, never in Node's module cache: each of its modules resolves its
 * `require`s (including the ones kafkajs makes lazily, such as the protocol's request versions) in
 * that map, so the copy is complete and consistent (one errors module, one set of classes) and
 * nobody else's kafkajs is touched.
 */
export function loadKafkaJs(filter: (input: never) => unknown = filterAbortedRecords): LoadedKafkaJs {
  const root = dirname(require.resolve('kafkajs/package.json'));
  const overrides = new Map([...copyOverrides(filter)].map(([path, override]) => [join(root, path), override]));
  const overridden = new Map<string, unknown>();
  const modules = new Map<string, Module>();
  const loadFile = (filename: string, parent: Module): unknown => {
    const known = modules.get(filename);
    if (known !== undefined) return known.exports;
    const module = new Module(filename, parent) as LoadableModule;
    // A module's require() calls module.require: route it through this map.
    module.require = ((id: string) => load(id, module)) as NodeJS.Require;
    modules.set(filename, module);
    try {
      module.load(filename);
    } catch (error) {
      modules.delete(filename);
      throw error;
    }
    return module.exports;
  };
  const load = (request: string, parent: Module): unknown => {
    const filename = (Module as unknown as Loader)._resolveFilename(request, parent);
    if (!filename.startsWith(root + sep)) return Module.prototype.require.call(parent, request);
    const override = overrides.get(filename);
    if (override === undefined) return loadFile(filename, parent);
    if (!overridden.has(filename)) {
      const original = (): unknown => loadFile(filename, parent);
      overridden.set(filename, override(original));
    }
    return overridden.get(filename);
  };
  const host = new Module(fileURLToPath(import.meta.url));
  host.paths = [];
  const kafkajs = load(root, host) as KafkaJsModule;
  return {
    kafkajs,
    Batch: load(join(root, BATCH_MODULE), host) as KafkaJsBatchClass,
    ConsumerGroup: load(join(root, CONSUMER_GROUP_MODULE), host) as KafkaJsConsumerGroupClass,
    module: (path) => load(join(root, path), host),
  };
}

const loaded = loadKafkaJs();
/** The adapter's kafkajs: loaded once, with the corrected read-committed filter and consumer group. */
export const kafkajs: KafkaJsModule = loaded.kafkajs;
/** The consumer batch class of the adapter's kafkajs (its corrected read-committed filter): the partition reader builds its batches with it. */
export const KafkaJsBatch: KafkaJsBatchClass = loaded.Batch;
