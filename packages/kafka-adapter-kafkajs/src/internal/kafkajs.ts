/**
 * The kafkajs module this adapter uses: kafkajs as installed, loaded as a private copy whose
 * consumer drops every record of an aborted transaction (see `read-committed.ts`).
 *
 * kafkajs 2.2.4 (the latest release) lets some aborted records through in read-committed mode,
 * which makes a transactional scheduler reload schedules that were never committed. A patch
 * applied by a package manager reaches only this repository, not a user who installs the adapter
 * from the registry, so the adapter corrects its own kafkajs instead: it loads kafkajs through
 * Node's module cache with the consumer's filter module replaced by ours, then puts the cache back
 * as it was. The application's own `import 'kafkajs'` is not affected either way (it gets its own
 * copy, unchanged); the adapter's clients always use the corrected one.
 *
 * @module
 */
import Module, { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import type * as KafkaJsNamespace from 'kafkajs';
import { filterAbortedRecords } from './read-committed.js';

/** The kafkajs module's exports (its CommonJS `module.exports`). */
export type KafkaJsModule = typeof KafkaJsNamespace;

const require = createRequire(import.meta.url);

/** The module kafkajs's consumer batch requires for its read-committed filtering. */
const FILTER_MODULE = 'src/consumer/filterAbortedMessages.js';
/** kafkajs's consumer batch: one partition's fetched records, filtered on construction. */
const BATCH_MODULE = 'src/consumer/batch.js';

/** The batch class of a loaded copy (for tests: it shows which filter the copy's consumer uses). */
export type KafkaJsBatchClass = new (
  topic: string,
  fetchedOffset: string,
  partitionData: { partition: number; highWatermark: string; messages: unknown[]; abortedTransactions?: unknown[] },
) => { messages: unknown[] };

/** A private kafkajs copy and its consumer's batch class. */
export interface LoadedKafkaJs {
  readonly kafkajs: KafkaJsModule;
  readonly Batch: KafkaJsBatchClass;
}

/**
 * Loads kafkajs (resolved from this package) as a private copy with `filter` as its
 * read-committed filter. Entries of kafkajs already in Node's module cache are set aside for the
 * load and restored after it, so other users of kafkajs keep theirs.
 */
export function loadKafkaJs(filter: (input: never) => unknown = filterAbortedRecords): LoadedKafkaJs {
  const root = dirname(require.resolve('kafkajs/package.json'));
  const inKafkaJs = (path: string): boolean => path.startsWith(root + sep);
  const cache = require.cache;
  const setAside = Object.entries(cache).filter(([path]) => inKafkaJs(path));
  for (const [path] of setAside) delete cache[path];
  try {
    const filterPath = join(root, FILTER_MODULE);
    const replacement = new Module(filterPath);
    replacement.filename = filterPath;
    replacement.exports = filter;
    replacement.loaded = true;
    cache[filterPath] = replacement;
    const kafkajs = require(root) as KafkaJsModule;
    return { kafkajs, Batch: require(join(root, BATCH_MODULE)) as KafkaJsBatchClass };
  } finally {
    for (const path of Object.keys(cache)) if (inKafkaJs(path)) delete cache[path];
    for (const [path, module] of setAside) cache[path] = module;
  }
}

/** The adapter's kafkajs: loaded once, with the corrected read-committed filter. */
export const kafkajs: KafkaJsModule = loadKafkaJs().kafkajs;
