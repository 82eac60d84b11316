/**
 * `@ksched/core/adapter`: the adapter kit. What every Kafka adapter shares lives here once (the
 * Transport shell with its lifecycle and listener delivery rules, the schedule client, the
 * topic-admin flow over a small `TopicAdmin` port, the connection settings schema and the
 * `KafkaAdapter` interface the service loads); an adapter is a thin driver over its client.
 *
 * @packageDocumentation
 */

export {};
