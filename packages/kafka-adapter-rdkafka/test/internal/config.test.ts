import { describe, expect, it } from 'vitest';
import { ConfigError } from '@ksched/core';
import {
  commonConfig,
  consumerConfig,
  consumerTopicConfig,
  createClient,
  producerConfig,
  readerConfig,
} from '../../src/internal/config.js';
import { memberProducerConfig } from '../../src/internal/member-transactions.js';
import { parseRdKafkaTransportOptions } from '../../src/options.js';

const options = parseRdKafkaTransportOptions({
  brokers: ['a:1', 'b:2'],
  clientId: 'c',
  librdkafka: { 'isolation.level': 'read_uncommitted', 'statistics.interval.ms': 5000, 'enable.idempotence': false },
});
const callbacks = { rebalance_cb: () => {}, offset_commit_cb: () => {} };

describe('librdkafka configuration', () => {
  it('consumer: read committed, manual offsets, EOF events, eager classic protocol; pass-through cannot weaken it', () => {
    const config = consumerConfig(options, 'g', callbacks);
    expect(config).toMatchObject({
      'bootstrap.servers': 'a:1,b:2',
      'client.id': 'c',
      'group.id': 'g',
      'group.protocol': 'classic',
      'partition.assignment.strategy': 'range,roundrobin',
      'isolation.level': 'read_committed',
      'enable.auto.commit': false,
      'enable.auto.offset.store': false,
      'enable.partition.eof': true,
      'allow.auto.create.topics': false,
      'session.timeout.ms': 30_000,
      'max.poll.interval.ms': 60_000,
      'statistics.interval.ms': 5000,
    });
    expect(config['rebalance_cb']).toBe(callbacks.rebalance_cb);
    expect(consumerTopicConfig).toEqual({ 'auto.offset.reset': 'earliest' });
  });

  it('consumer: partitionAssignmentStrategy selects the assignor (cooperative-sticky: the incremental protocol)', () => {
    const cooperative = parseRdKafkaTransportOptions({ brokers: ['a:1'], partitionAssignmentStrategy: 'cooperative-sticky' });
    expect(consumerConfig(cooperative, 'g', callbacks)).toMatchObject({
      'group.protocol': 'classic',
      'partition.assignment.strategy': 'cooperative-sticky',
    });
    const range = parseRdKafkaTransportOptions({ brokers: ['a:1'], partitionAssignmentStrategy: 'range' });
    expect(consumerConfig(range, 'g', callbacks)['partition.assignment.strategy']).toBe('range');
  });

  it('consumer: groupInstanceId makes the member static (group.instance.id); unset, no such key; a bad id is refused by name', () => {
    const fixed = parseRdKafkaTransportOptions({ brokers: ['a:1'], groupInstanceId: 'ksched-0' });
    expect(consumerConfig(fixed, 'g', callbacks)['group.instance.id']).toBe('ksched-0');
    expect(consumerConfig(options, 'g', callbacks)).not.toHaveProperty('group.instance.id');
    expect(() => parseRdKafkaTransportOptions({ brokers: ['a:1'], groupInstanceId: 'pod 0' })).toThrow(
      /groupInstanceId: needs to be 1 to 249 characters/,
    );
  });

  it('reader: its own never-joined group id, read committed, EOF events, no commits; same security settings as the member', () => {
    const secured = parseRdKafkaTransportOptions({
      brokers: ['a:1'],
      clientId: 'c',
      ssl: { ca: 'CA', rejectUnauthorized: true },
      sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
      librdkafka: { 'isolation.level': 'read_uncommitted', 'enable.partition.eof': false },
    });
    const config = readerConfig(secured, 'reader-group');
    expect(config).toMatchObject({
      'bootstrap.servers': 'a:1',
      'client.id': 'c',
      'group.id': 'reader-group',
      'isolation.level': 'read_committed',
      'enable.auto.commit': false,
      'enable.partition.eof': true,
      'allow.auto.create.topics': false,
      'security.protocol': 'sasl_ssl',
      'sasl.mechanisms': 'SCRAM-SHA-512',
      'sasl.username': 'u',
      'sasl.password': 'p',
      'ssl.ca.pem': 'CA',
    });
    const member = consumerConfig(secured, 'g', callbacks);
    for (const k of Object.keys(member).filter((k) => k.startsWith('ssl.') || k.startsWith('sasl.') || k === 'security.protocol')) {
      expect(config[k], k).toEqual(member[k]);
    }
    expect(config['rebalance_cb']).toBeUndefined();
    expect(config['max.partition.fetch.bytes']).toBe(secured.fetchMaxBytesPerPartition);
  });

  it('reader: reconnects after 20 ms, fetches at most 8 MiB ahead, unless the pass-through says otherwise', () => {
    expect(readerConfig(options, 'r')).toMatchObject({
      'reconnect.backoff.ms': 20,
      'queued.max.messages.kbytes': 8192,
      'fetch.queue.backoff.ms': 10,
    });
    const member = consumerConfig(options, 'g', callbacks);
    for (const k of ['reconnect.backoff.ms', 'queued.max.messages.kbytes', 'fetch.queue.backoff.ms']) expect(member[k], k).toBeUndefined();
    const own = parseRdKafkaTransportOptions({
      brokers: 'a:1',
      librdkafka: { 'reconnect.backoff.ms': 100, 'queued.max.messages.kbytes': 65536 },
    });
    expect(readerConfig(own, 'r')).toMatchObject({ 'reconnect.backoff.ms': 100, 'queued.max.messages.kbytes': 65536 });
  });

  it('reconnects to a broker at least every second (librdkafka waits up to 10 s), unless the pass-through says otherwise', () => {
    for (const config of [consumerConfig(options, 'g', callbacks), readerConfig(options, 'r'), producerConfig(options).global]) {
      expect(config['reconnect.backoff.max.ms']).toBe(1000);
    }
    const own = parseRdKafkaTransportOptions({ brokers: 'a:1', librdkafka: { 'reconnect.backoff.max.ms': 5000 } });
    expect(producerConfig(own).global['reconnect.backoff.max.ms']).toBe(5000);
  });

  it('producer: idempotent, acks all, murmur2 partitioner in the topic configuration', () => {
    const { global, topic } = producerConfig(options);
    expect(global).toMatchObject({ 'enable.idempotence': true, dr_cb: true, 'linger.ms': 1 });
    expect(global['transactional.id']).toBeUndefined();
    expect(topic).toEqual({ acks: 'all', partitioner: 'murmur2_random', 'request.timeout.ms': 30_000, 'message.timeout.ms': 60_000 });
  });

  it('transactional producer: the socket timeout kept within the transaction timeout + 100 ms (librdkafka refuses InitProducerId otherwise)', () => {
    const short = parseRdKafkaTransportOptions({ brokers: 'a:1', transactionTimeoutMs: 10_000 });
    expect(producerConfig(short, 'tx').global).toMatchObject({
      'transactional.id': 'tx',
      'transaction.timeout.ms': 10_000,
      'socket.timeout.ms': 10_100,
    });
    expect(producerConfig(short).global['socket.timeout.ms']).toBe(30_000);
    expect(producerConfig(parseRdKafkaTransportOptions({ brokers: 'a:1' }), 'tx').global['socket.timeout.ms']).toBe(30_000);
  });

  it("the member's producer (fenced by the group) retries after 5 ms, unless the pass-through sets retry.backoff.ms", () => {
    const plain = parseRdKafkaTransportOptions({ brokers: 'a:1' });
    expect(memberProducerConfig(plain, 'm').global).toMatchObject({ 'transactional.id': 'm', 'retry.backoff.ms': 5 });
    expect(producerConfig(plain, 'p').global['retry.backoff.ms']).toBeUndefined();
    const own = parseRdKafkaTransportOptions({ brokers: 'a:1', librdkafka: { 'retry.backoff.ms': 50 } });
    expect(memberProducerConfig(own, 'm').global['retry.backoff.ms']).toBe(50);
  });

  it('producer linger: lingerMs, unless the librdkafka pass-through sets linger.ms', () => {
    expect(producerConfig(parseRdKafkaTransportOptions({ brokers: 'a:1', lingerMs: 0 })).global['linger.ms']).toBe(0);
    const passThrough = parseRdKafkaTransportOptions({ brokers: 'a:1', lingerMs: 0, librdkafka: { 'linger.ms': 20 } });
    expect(producerConfig(passThrough).global['linger.ms']).toBe(20);
    expect(producerConfig(passThrough, 'tx-1').global['linger.ms']).toBe(20);
  });

  it('transactional producer: id, transaction timeout, message timeout not above it', () => {
    const o = parseRdKafkaTransportOptions({ brokers: 'a:1', transactionTimeoutMs: 20_000, messageTimeoutMs: 90_000 });
    const { global, topic } = producerConfig(o, 'tx-1');
    expect(global).toMatchObject({ 'transactional.id': 'tx-1', 'transaction.timeout.ms': 20_000, 'enable.idempotence': true });
    expect(topic['message.timeout.ms']).toBe(20_000);
  });

  it('maps TLS and SASL settings', () => {
    const o = parseRdKafkaTransportOptions({
      brokers: 'a:1',
      ssl: { ca: ['ca1', 'ca2'], cert: 'cert', key: 'key', passphrase: 'pw', rejectUnauthorized: false },
      sasl: { mechanism: 'scram-sha-256', username: 'u', password: 'p' },
    });
    expect(commonConfig(o)).toMatchObject({
      'security.protocol': 'sasl_ssl',
      'sasl.mechanisms': 'SCRAM-SHA-256',
      'sasl.username': 'u',
      'sasl.password': 'p',
      'ssl.ca.pem': 'ca1\nca2',
      'ssl.certificate.pem': 'cert',
      'ssl.key.pem': 'key',
      'ssl.key.password': 'pw',
      'enable.ssl.certificate.verification': false,
    });
    expect(commonConfig(parseRdKafkaTransportOptions({ brokers: 'a:1', ssl: true }))['security.protocol']).toBe('ssl');
    expect(
      commonConfig(parseRdKafkaTransportOptions({ brokers: 'a:1', sasl: { mechanism: 'plain', username: 'u', password: 'p' } }))[
        'security.protocol'
      ],
    ).toBe('sasl_plaintext');
    expect(commonConfig(options)['security.protocol']).toBeUndefined();
  });

  it('turns a refused configuration into a ConfigError', () => {
    expect(() =>
      createClient('producer', () => {
        throw new Error('No such configuration property: "nope"');
      }),
    ).toThrow(ConfigError);
  });
});
