/**
 * The kafkajs module this adapter uses: kafkajs as installed, loaded as a private copy whose
 * consumer drops every record of an aborted transaction (see `read-committed.ts`).
 *
 * kafkajs 2.2.4 (the latest release) lets some aborted records through in read-committed mode,
 * which makes a transactional scheduler reload schedules that were never committed. A patch
 * applied by a package manager reaches only this repository, not a user who installs the adapter
 * from the registry, so the adapter corrects its own kafkajs instead: it loads the installed
 * kafkajs into a module map of its own with the consumer's filter module replaced by ours. The
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

/** The parts of Node's CommonJS loader the private load uses (stable, but not in the typings). */
interface Loader {
  _resolveFilename(request: string, parent: Module): string;
}
interface LoadableModule extends Module {
  load(filename: string): void;
}

/**
 * Loads kafkajs (resolved from this package) as a private copy with `filter` as its
 * read-committed filter. The copy lives in a module map of its own, never in Node's module cache:
 * each of its modules resolves its `require`s (including the ones kafkajs makes lazily, such as
 * the protocol's request versions) in that map, so the copy is complete and consistent (one
 * errors module, one set of classes) and nobody else's kafkajs is touched.
 */
export function loadKafkaJs(filter: (input: never) => unknown = filterAbortedRecords): LoadedKafkaJs {
  const root = dirname(require.resolve('kafkajs/package.json'));
  const replaced = new Map<string, unknown>([[join(root, FILTER_MODULE), filter]]);
  const modules = new Map<string, Module>();
  const load = (request: string, parent: Module): unknown => {
    const filename = (Module as unknown as Loader)._resolveFilename(request, parent);
    if (!filename.startsWith(root + sep)) return Module.prototype.require.call(parent, request);
    if (replaced.has(filename)) return replaced.get(filename);
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
  const host = new Module(fileURLToPath(import.meta.url));
  host.paths = [];
  const kafkajs = load(root, host) as KafkaJsModule;
  return { kafkajs, Batch: load(join(root, BATCH_MODULE), host) as KafkaJsBatchClass };
}

/** The adapter's kafkajs: loaded once, with the corrected read-committed filter. */
export const kafkajs: KafkaJsModule = loadKafkaJs().kafkajs;
