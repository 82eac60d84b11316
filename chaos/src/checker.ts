/**
 * The independent checker: a plain kafkajs consumer (read_committed) on the target topics. It
 * knows nothing of ksched's adapters; it reads the schedule id from the `schedule_source_key`
 * header (falling back to the record key) and the due time from `schedule_target_epoch_ms`, and
 * compares them with the CreateTime the scheduler's producer stamped.
 *
 * A record is counted once per (topic, partition, offset): the checker commits no offsets, so a
 * rejoin of its own group (e.g. after a broker restart) re-reads from the beginning, and those
 * re-reads are skipped (counted in `reread`) rather than taken for duplicates.
 */
import { Kafka, logLevel, type Consumer } from 'kafkajs';

export interface Delivery {
  readonly ts: number;
  readonly dueMs: number | undefined;
}

export class Checker {
  readonly seen = new Map<string, Delivery[]>();
  total = 0;
  /** Records read again at an offset already counted (the checker's own rejoins); not deliveries. */
  reread = 0;
  /** Consumer crashes reported by kafkajs (with whether kafkajs restarts the consumer itself). */
  readonly crashes: string[] = [];
  /** Next offset to count per `topic/partition`. */
  readonly #next = new Map<string, bigint>();
  #consumer: Consumer;
  #onRecord: (() => void) | undefined;

  constructor(
    brokers: string,
    readonly topics: string[],
    clientId: string,
  ) {
    const kafka = new Kafka({ clientId, brokers: brokers.split(','), logLevel: logLevel.NOTHING });
    this.#consumer = kafka.consumer({
      groupId: `${clientId}-${Date.now()}`,
      readUncommitted: false,
      sessionTimeout: 30_000,
      maxWaitTimeInMs: 200,
    });
  }

  async start(): Promise<void> {
    this.#consumer.on(this.#consumer.events.CRASH, (e) => {
      this.crashes.push(`${e.payload.error.message} (restart ${e.payload.restart})`);
    });
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topics: this.topics, fromBeginning: true });
    await this.#consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const tp = `${batch.topic}/${batch.partition}`;
        for (const m of batch.messages) {
          const offset = BigInt(m.offset);
          if (offset < (this.#next.get(tp) ?? 0n)) {
            this.reread++;
            continue;
          }
          this.#next.set(tp, offset + 1n);
          const h = m.headers ?? {};
          const text = (v: unknown): string | undefined =>
            v === undefined || v === null ? undefined : Buffer.isBuffer(v) ? v.toString('utf8') : Array.isArray(v) ? text(v[0]) : String(v);
          const id = text(h['schedule_source_key']) ?? m.key?.toString('utf8') ?? `<nokey>@${batch.topic}/${batch.partition}/${m.offset}`;
          const dueText = text(h['schedule_target_epoch_ms']);
          const epochText = text(h['schedule_target_epoch']);
          const dueMs = dueText !== undefined ? Number(dueText) : epochText !== undefined ? Number(epochText) * 1000 : undefined;
          const list = this.seen.get(id) ?? [];
          list.push({ ts: Number(m.timestamp), dueMs });
          this.seen.set(id, list);
          this.total++;
        }
        this.#onRecord?.();
      },
    });
    // Wait until the consumer has its assignment (first GROUP_JOIN).
    await new Promise<void>((res) => {
      const off = this.#consumer.on(this.#consumer.events.GROUP_JOIN, () => {
        off();
        res();
      });
      setTimeout(res, 15_000);
    });
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

  async stop(): Promise<void> {
    await this.#consumer.disconnect().catch(() => {});
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
