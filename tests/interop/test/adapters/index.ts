/**
 * The adapter table of the interop tests: each adapter's broker harness and what differs between
 * them (the conformance cases a client cannot pass, with the reason; what its topic admin can do).
 * A suite every adapter passes is declared once, over {@link ADAPTERS}; each test's title names
 * its adapter (`Transport conformance: kafkajs > …`).
 */
import { kafkajs } from './kafkajs.js';
import { rdkafka } from './rdkafka.js';

export const adapters = { kafkajs, rdkafka } as const;

/** An adapter's name in the table. */
export type AdapterName = keyof typeof adapters;

/** Every adapter, in a fixed order. */
export const ADAPTERS = [kafkajs, rdkafka] as const;
