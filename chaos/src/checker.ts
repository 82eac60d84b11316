/**
 * The independent checker: a plain node-rdkafka (librdkafka) consumer with
 * `isolation.level: read_committed` on the target topics. It knows nothing of ksched's adapters;
 * it reads the schedule id from the `schedule_source_key` header (falling back to the record key)
 * and the due time from `schedule_target_epoch_ms`, and compares them with the CreateTime the
 * scheduler's producer stamped.
 *
 * It is librdkafka, not kafkajs, because kafkajs 2.2.4's read_committed filtering lets some
 * aborted transactional records through (seen as false "duplicates" in transactional kill -9
 * trials); librdkafka filters them by the broker's aborted-transaction list.
 *
 * No consumer group: every partition of the target topics is assigned from offset 0 and no offset
 * is committed; librdkafka keeps its fetch positions across a broker restart and reconnects by
 * itself. A record is still counted once per (topic, partition, offset): anything read again at an
 * offset already counted (e.g. an offset reset) is skipped (counted in `reread`), not taken for a
 * duplicate.
 */
import rdkafka from 'node-rdkafka';

export interface Delivery {
  readonly ts: number;
  readonly dueMs: number | undefined;
}

const METADATA_TIMEOUT_MS = 10_000;
const CONSUME_BATCH = 1000;
const CONSUME_TIMEOUT_MS = 200;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The first value of header `name` as UTF-8 (node-rdkafka: an array of `{ name: value }`). */
function header(headers: rdkafka.MessageHeader[] | undefined, name: string): string | undefined {
  for (const h of headers ?? []) {
    if (Object.hasOwn(h, name)) {
      const v = h[name];
      return v === undefined || v === null ? undefined : Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
    }
  }
  return undefined;
}

export class Checker {
  readonly seen = new Map<string, Delivery[]>();
  total = 0;
  /** Records read again at an offset already counted; not deliveries. */
  reread = 0;
  /** Errors of the checker's own consumer (consume() errors and fatal client errors). */
  readonly crashes: string[] = [];
  /** Next offset to count per `topic/partition`. */
  readonly #next = new Map<string, number>();
  readonly #consumer: rdkafka.KafkaConsumer;
  #onRecord: (() => void) | undefined;
  #running = false;
  #loop: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;

  constructor(
    brokers: string,
    readonly topics: string[],
    clientId: string,
  ) {
    this.#consumer = new rdkafka.KafkaConsumer(
      {
        'metadata.broker.list': brokers,
        'client.id': clientId,
        'group.id': `${clientId}-${Date.now()}`, // never joined (assign, not subscribe), never committed
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
        'isolation.level': 'read_committed',
        'fetch.wait.max.ms': 100,
        'socket.keepalive.enable': true,
        'reconnect.backoff.max.ms': 1000,
        log_level: 0,
      } as rdkafka.ConsumerGlobalConfig,
      { 'auto.offset.reset': 'earliest' },
    );
    this.#consumer.on('event.error', (e: rdkafka.LibrdKafkaError) => {
      // Transport errors while a broker restarts are expected; librdkafka retries by itself.
      if (e.isFatal) this.crashes.push(`fatal: ${e.message}`);
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((res, rej) => this.#consumer.connect({ timeout: METADATA_TIMEOUT_MS }, (err) => (err ? rej(err) : res())));
    const assignment: rdkafka.TopicPartitionOffset[] = [];
    for (const topic of this.topics) {
      const n = await this.#partitions(topic);
      for (let partition = 0; partition < n; partition++) assignment.push({ topic, partition, offset: 0 });
    }
    this.#consumer.assign(assignment);
    this.#consumer.setDefaultConsumeTimeout(CONSUME_TIMEOUT_MS);
    this.#running = true;
    this.#loop = this.#run();
  }

  /** The partition count of `topic` (retried until the metadata shows the topic). */
  async #partitions(topic: string): Promise<number> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const md = await new Promise<rdkafka.Metadata>((res, rej) =>
          this.#consumer.getMetadata({ topic, timeout: METADATA_TIMEOUT_MS }, (err, m) => (err ? rej(err) : res(m))),
        );
        const n = md.topics.find((t) => t.name === topic)?.partitions.length ?? 0;
        if (n > 0) return n;
        if (Date.now() > deadline) throw new Error(`checker: topic ${topic} has no partitions in the metadata`);
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
      await sleep(250);
    }
  }

  async #run(): Promise<void> {
    while (this.#running) {
      let batch: rdkafka.Message[];
      try {
        batch = await new Promise<rdkafka.Message[]>((res, rej) =>
          this.#consumer.consume(CONSUME_BATCH, (err, msgs) => (err ? rej(err) : res(msgs))),
        );
      } catch (error) {
        if (!this.#running) break;
        this.crashes.push(`consume: ${(error as Error).message}`);
        await sleep(200);
        continue;
      }
      for (const m of batch) this.#count(m);
      if (batch.length) this.#onRecord?.();
    }
  }

  #count(m: rdkafka.Message): void {
    const tp = `${m.topic}/${m.partition}`;
    if (m.offset < (this.#next.get(tp) ?? 0)) {
      this.reread++;
      return;
    }
    this.#next.set(tp, m.offset + 1);
    const key = m.key === undefined || m.key === null ? undefined : Buffer.isBuffer(m.key) ? m.key.toString('utf8') : m.key;
    const id = header(m.headers, 'schedule_source_key') ?? key ?? `<nokey>@${tp}/${m.offset}`;
    const dueText = header(m.headers, 'schedule_target_epoch_ms');
    const epochText = header(m.headers, 'schedule_target_epoch');
    const dueMs = dueText !== undefined ? Number(dueText) : epochText !== undefined ? Number(epochText) * 1000 : undefined;
    const list = this.seen.get(id) ?? [];
    list.push({ ts: Number(m.timestamp), dueMs });
    this.seen.set(id, list);
    this.total++;
  }

  /** Waits until `pred()` holds or `deadline` (epoch ms) passes; true when it held. */
  async waitFor(pred: () => boolean, deadline: number): Promise<boolean> {
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((res) => {
        const t = setTimeout(res, Math.min(left, 500));
        this.#onRecord = () => {
          clearTimeout(t);
          res();
        };
      });
    }
    return true;
  }

  /** Stops the consume loop and disconnects (idempotent). */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#running = false;
      await this.#loop?.catch(() => {});
      if (this.#consumer.isConnected()) {
        await new Promise<void>((res) => this.#consumer.disconnect(() => res()));
      }
    })();
    return this.#stopped;
  }

  /**
   * Per expected id: lost (no delivery with ts ≤ due + grace; `missing`: no delivery at all), duplicates (deliveries − 1),
   * early (deliveries with ts < due). Also counts unexpected ids.
   */
  verdict(expected: Map<string, number>, graceMs: number, lateMs = Infinity) {
    let lost = 0;
    let dup = 0;
    let early = 0;
    let late = 0;
    let maxLatenessMs = 0;
    const lateness: number[] = [];
    let missing = 0;
    const lostIds: string[] = [];
    const dupIds: string[] = [];
    const earlyIds: string[] = [];
    for (const [id, due] of expected) {
      const d = this.seen.get(id) ?? [];
      const first = d.length ? Math.min(...d.map((x) => x.ts)) : undefined;
      if (first === undefined || first > due + graceMs) {
        lost++;
        if (first === undefined) missing++;
        if (lostIds.length < 10) lostIds.push(id);
      } else {
        maxLatenessMs = Math.max(maxLatenessMs, first - due);
        lateness.push(first - due);
        if (first - due > lateMs) late++;
      }
      if (d.length > 1) {
        dup += d.length - 1;
        if (dupIds.length < 10) dupIds.push(id);
      }
      for (const x of d) {
        if (x.ts < due) {
          early++;
          if (earlyIds.length < 10) earlyIds.push(`${id} (${due - x.ts}ms early)`);
        }
      }
    }
    let unexpected = 0;
    for (const [id, d] of this.seen) if (!expected.has(id)) unexpected += d.length;
    lateness.sort((a, b) => a - b);
    const p99LatenessMs = lateness.length ? lateness[Math.min(lateness.length - 1, Math.floor(lateness.length * 0.99))]! : 0;
    return { lost, missing, dup, early, late, maxLatenessMs, p99LatenessMs, unexpected, lostIds, dupIds, earlyIds };
  }

  /** The earliest CreateTime at or after `t` (epoch ms) among the deliveries counted so far, or undefined. */
  firstAt(t: number): number | undefined {
    let first: number | undefined;
    for (const d of this.seen.values()) for (const x of d) if (x.ts >= t && (first === undefined || x.ts < first)) first = x.ts;
    return first;
  }

  /** The longest time without any delivery (by CreateTime) between the first and the last one. */
  longestPause(): { ms: number; from: number } {
    const ts: number[] = [];
    for (const d of this.seen.values()) for (const x of d) ts.push(x.ts);
    ts.sort((a, b) => a - b);
    let best = { ms: 0, from: 0 };
    for (let k = 1; k < ts.length; k++) if (ts[k]! - ts[k - 1]! > best.ms) best = { ms: ts[k]! - ts[k - 1]!, from: ts[k - 1]! };
    return best;
  }
}
