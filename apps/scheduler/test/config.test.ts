import { ConfigError, DEFAULT_SCHEDULES_PARTITIONS, schedulerOptionsSchema } from '@ksched/core';
import { connectionOptionsSchema, saslOptionsSchema, schemaDefault, schemaDescription, tlsOptionsSchema } from '@ksched/core/adapter';
import { kafkaJsConnectionOptionsSchema, kafkaJsTransportOptionsSchema } from '@ksched/kafka-adapter-kafkajs';
import { rdKafkaConnectionOptionsSchema, rdKafkaTransportOptionsSchema } from '@ksched/kafka-adapter-rdkafka/options';
import { describe, expect, it } from 'vitest';
import { describeConfigError, durationText, loadConfig, SETTINGS, sizeText, type LoadConfigInput } from '../src/config.js';
import { parseDuration } from '../src/duration.js';

const BROKERS = { KSCHED_BROKERS: '127.0.0.1:19092' };

/** loadConfig with an in-memory file system and no process environment. */
function load(input: LoadConfigInput & { files?: Record<string, string> } = {}) {
  const { files = {}, ...rest } = input;
  return loadConfig({
    env: {},
    cwd: '/work',
    readFile: (path) => {
      const content = files[path];
      if (content === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return content;
    },
    ...rest,
  });
}

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (ConfigError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('defaults', () => {
  it('fills in every default', () => {
    const c = load({ env: BROKERS });
    expect(c.connection).toEqual({ adapter: 'kafkajs', brokers: ['127.0.0.1:19092'], clientId: 'ksched', clientLogLevel: 'warn' });
    expect(c.scheduler).toMatchObject({
      topics: ['scheduled_messages'],
      groupId: 'ksched_scheduled_messages',
      intervalMs: 15_000,
      transactional: false,
      statesPostfix: '_states',
      flushBatchSize: 1000,
    });
    expect(c.scheduler.deadLetterTopic).toBeUndefined();
    expect(c.http).toEqual({ enabled: true, host: '127.0.0.1', port: 9464 });
    expect(c.log).toEqual({ level: 'info' });
    expect(c.partitions).toBe(5);
    expect(c.replicationFactor).toBe(1);
    expect(c.shutdownTimeoutMs).toBe(25_000);
    expect(c.sources).toEqual({ brokers: 'KSCHED_BROKERS' });
  });

  it('command defaults sit below the file', () => {
    const c = load({
      env: BROKERS,
      defaults: { clientLogLevel: 'nothing', 'log.level': 'warn' },
      configFile: 'k.json',
      files: { '/work/k.json': JSON.stringify({ log: { level: 'debug' } }) },
    });
    expect(c.connection.clientLogLevel).toBe('nothing');
    expect(c.log.level).toBe('debug');
  });
});

describe('precedence: flags > env > file > defaults', () => {
  const files = {
    '/work/ksched.json': JSON.stringify({
      brokers: ['file:9092'],
      groupId: 'from_file',
      intervalMs: 20_000,
      topics: ['file_topic'],
      transactional: true,
      http: { port: 9000, host: '0.0.0.0' },
      log: { level: 'debug' },
    }),
  };

  it('the file overrides defaults', () => {
    const c = load({ configFile: 'ksched.json', files });
    expect(c.connection.brokers).toEqual(['file:9092']);
    expect(c.scheduler.groupId).toBe('from_file');
    expect(c.scheduler.intervalMs).toBe(20_000);
    expect(c.scheduler.transactional).toBe(true);
    expect(c.http).toEqual({ enabled: true, host: '0.0.0.0', port: 9000 });
    expect(c.configFile).toBe('/work/ksched.json');
    expect(c.sources['groupId']).toBe('config file /work/ksched.json');
  });

  it('KSCHED_CONFIG names the file when --config is not given', () => {
    const c = load({ env: { KSCHED_CONFIG: 'ksched.json' }, files });
    expect(c.scheduler.groupId).toBe('from_file');
  });

  it('the environment overrides the file, key by key (also inside groups)', () => {
    const c = load({
      configFile: 'ksched.json',
      files,
      env: { KSCHED_GROUP_ID: 'from_env', KSCHED_INTERVAL_MS: '30s', KSCHED_HTTP_PORT: '9100', KSCHED_TRANSACTIONAL: 'false' },
    });
    expect(c.scheduler.groupId).toBe('from_env');
    expect(c.scheduler.intervalMs).toBe(30_000);
    expect(c.scheduler.transactional).toBe(false);
    expect(c.http).toEqual({ enabled: true, host: '0.0.0.0', port: 9100 });
    expect(c.connection.brokers).toEqual(['file:9092']);
    expect(c.sources['groupId']).toBe('KSCHED_GROUP_ID');
  });

  it('flags override the environment and the file', () => {
    const c = load({
      configFile: 'ksched.json',
      files,
      env: { KSCHED_GROUP_ID: 'from_env', KSCHED_BROKERS: 'env:9092', KSCHED_TOPICS: 'a,b' },
      flags: { groupId: 'from_flag', brokers: 'flag-1:9092,flag-2:9092', topics: ['x', 'y,z'], 'http.enabled': false },
      flagNames: { groupId: '--group-id' },
    });
    expect(c.scheduler.groupId).toBe('from_flag');
    expect(c.connection.brokers).toEqual(['flag-1:9092', 'flag-2:9092']);
    expect(c.scheduler.topics).toEqual(['x', 'y', 'z']);
    expect(c.http.enabled).toBe(false);
    expect(c.sources['groupId']).toBe('--group-id');
  });

  it('an empty environment variable counts as unset', () => {
    const c = load({ configFile: 'ksched.json', files, env: { KSCHED_GROUP_ID: '', KSCHED_BROKERS: '  ' } });
    expect(c.scheduler.groupId).toBe('from_file');
    expect(c.connection.brokers).toEqual(['file:9092']);
  });
});

describe('coercion of text values', () => {
  it('reads booleans, integers, durations and lists from the environment', () => {
    const c = load({
      env: {
        ...BROKERS,
        KSCHED_TRANSACTIONAL: 'yes',
        KSCHED_COMMIT_OFFSETS: '0',
        KSCHED_FLUSH_BATCH_SIZE: '200',
        KSCHED_INTERVAL_MS: '1m30s',
        KSCHED_RETRY_BACKOFF_MS: '750',
        KSCHED_TOPICS: ' a , b ,,c ',
        KSCHED_LOG_PRETTY: 'true',
        KSCHED_ADAPTER: 'RdKafka',
      },
    });
    expect(c.scheduler).toMatchObject({
      transactional: true,
      commitOffsets: false,
      flushBatchSize: 200,
      intervalMs: 90_000,
      retryBackoffMs: 750,
      topics: ['a', 'b', 'c'],
    });
    expect(c.log.pretty).toBe(true);
    expect(c.connection.adapter).toBe('rdkafka');
  });

  it('accepts durations as text in the file too', () => {
    const c = load({ env: BROKERS, configFile: '/k.json', files: { '/k.json': '{"intervalMs":"2m","shutdownTimeoutMs":5000}' } });
    expect(c.scheduler.intervalMs).toBe(120_000);
    expect(c.shutdownTimeoutMs).toBe(5000);
  });
});

describe('validation errors name the setting and where its value came from', () => {
  it('a value below core’s minimum (from the environment)', () => {
    const e = configError(() => load({ env: { ...BROKERS, KSCHED_INTERVAL_MS: '500' } }));
    expect(e.violations).toEqual([
      { field: 'intervalMs', rule: 'min', message: 'needs to be at least 1s (from KSCHED_INTERVAL_MS: "500")' },
    ]);
    expect(describeConfigError(e)).toBe('invalid configuration: intervalMs: needs to be at least 1s (from KSCHED_INTERVAL_MS: "500")');
  });

  it('a flag that is not a number', () => {
    const e = configError(() => load({ env: BROKERS, flags: { 'http.port': 'abc' }, flagNames: { 'http.port': '--http-port' } }));
    expect(describeConfigError(e)).toBe('invalid configuration: http.port: needs to be an integer ≥ 0 (from --http-port: "abc")');
  });

  it('the Web UI credential: a token or a complete basic pair, never shown back', () => {
    const both = configError(() =>
      load({ env: { ...BROKERS, KSCHED_UI_TOKEN: 'token-of-8+', KSCHED_UI_USERNAME: 'ops', KSCHED_UI_PASSWORD: 'pw-of-8+!' } }),
    );
    expect(both.violations.map((v) => v.field)).toEqual(['ui.token']);
    expect(describeConfigError(both)).not.toContain('token-of-8+');
    const half = configError(() => load({ env: { ...BROKERS, KSCHED_UI_USERNAME: 'ops' } }));
    expect(half.violations.map((v) => v.field)).toEqual(['ui.password']);
    const short = configError(() => load({ env: { ...BROKERS, KSCHED_UI_TOKEN: 'short' } }));
    expect(describeConfigError(short)).toBe(
      'invalid configuration: ui.token: needs at least 8 characters (from KSCHED_UI_TOKEN: (hidden))',
    );
    expect(load({ env: BROKERS }).ui).toEqual({ enabled: false, host: '127.0.0.1', port: 9466, readsNeedCredential: false });
  });

  it('a bad duration', () => {
    const e = configError(() => load({ env: { ...BROKERS, KSCHED_INTERVAL_MS: 'soon' } }));
    expect(e.violations[0]?.field).toBe('intervalMs');
    expect(e.violations[0]?.message).toMatch(/duration such as 15s, 5m, 1h30m/);
  });

  it('an unknown adapter and a bad boolean, both at once', () => {
    const e = configError(() => load({ env: { ...BROKERS, KSCHED_ADAPTER: 'librdkafka', KSCHED_TRANSACTIONAL: 'maybe' } }));
    expect(e.violations.map((v) => v.field).sort()).toEqual(['adapter', 'transactional']);
    expect(describeConfigError(e)).toContain('adapter: needs to be one of kafkajs, rdkafka (from KSCHED_ADAPTER: "librdkafka")');
  });

  it('a bad value in the file names the file', () => {
    const e = configError(() => load({ env: BROKERS, configFile: '/k.json', files: { '/k.json': '{"http":{"port":70000}}' } }));
    expect(describeConfigError(e)).toBe(
      'invalid configuration: http.port: needs to be an integer ≤ 65535 (from config file /k.json: 70000)',
    );
  });

  it('unknown settings in the file', () => {
    const e = configError(() => load({ env: BROKERS, configFile: '/k.json', files: { '/k.json': '{"interval":5,"http":{"prot":1}}' } }));
    expect(e.violations.map((v) => v.field)).toEqual(['interval', 'http.prot']);
  });

  it('a missing or broken file', () => {
    expect(describeConfigError(configError(() => load({ env: BROKERS, configFile: '/nope.json' })))).toMatch(
      /cannot read config file \/nope.json \(ENOENT; from --config\)/,
    );
    expect(describeConfigError(configError(() => load({ env: BROKERS, configFile: '/k.json', files: { '/k.json': '{' } })))).toMatch(
      /is not valid JSON/,
    );
    expect(describeConfigError(configError(() => load({ env: BROKERS, configFile: '/k.json', files: { '/k.json': '[]' } })))).toMatch(
      /needs to hold a JSON object/,
    );
  });

  it('brokers are required unless the command can start a local broker', () => {
    expect(describeConfigError(configError(() => load()))).toMatch(/brokers: needs at least one broker \(host:port\): set KSCHED_BROKERS/);
    expect(load({ requireBrokers: false }).connection.brokers).toEqual([]);
    expect(describeConfigError(configError(() => load({ env: { KSCHED_BROKERS: 'no-port' } })))).toMatch(
      /brokers: each broker needs to be host:port \(from KSCHED_BROKERS: "no-port"\)/,
    );
  });

  it('a bad schedules topic name', () => {
    const e = configError(() => load({ env: BROKERS, flags: { topics: ['bad topic'] }, flagNames: { topics: '--schedules-topic' } }));
    expect(e.violations[0]?.message).toMatch(/Kafka topic name .* \(from --schedules-topic: \["bad topic"\]\)/);
  });

  it('SASL needs mechanism, user name and password; the password is never echoed', () => {
    const e = configError(() => load({ env: { ...BROKERS, KSCHED_SASL_USERNAME: 'app' } }));
    expect(e.violations.map((v) => v.field)).toEqual(['sasl.mechanism', 'sasl.password']);
    const ok = load({
      env: { ...BROKERS, KSCHED_SASL_MECHANISM: 'SCRAM-SHA-512', KSCHED_SASL_USERNAME: 'app', KSCHED_SASL_PASSWORD: 's3cret' },
    });
    expect(ok.connection.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'app', password: 's3cret' });
    const secret = configError(() =>
      load({
        env: { ...BROKERS, KSCHED_SASL_MECHANISM: 'plain', KSCHED_SASL_USERNAME: 'app' },
        configFile: '/k.json',
        files: { '/k.json': '{"sasl":{"password":42}}' },
      }),
    );
    expect(describeConfigError(secret)).toContain('sasl.password: needs to be a string (from config file /k.json: (hidden))');
  });
});

describe('TLS', () => {
  it('is off by default, on with --ssl (system CAs)', () => {
    expect(load({ env: BROKERS }).connection.ssl).toBeUndefined();
    expect(load({ env: { ...BROKERS, KSCHED_SSL: 'true' } }).connection.ssl).toBe(true);
  });

  it('reads the PEM files, relative to the working directory', () => {
    const c = load({
      env: { ...BROKERS, KSCHED_SSL_CA_FILE: 'ca.pem', KSCHED_SSL_REJECT_UNAUTHORIZED: 'false' },
      files: { '/work/ca.pem': '-----BEGIN CERTIFICATE-----' },
    });
    expect(c.connection.ssl).toEqual({ ca: '-----BEGIN CERTIFICATE-----', rejectUnauthorized: false });
  });

  it('names the setting of a PEM file that cannot be read', () => {
    const e = configError(() => load({ env: { ...BROKERS, KSCHED_SSL_CERT_FILE: '/missing.pem' } }));
    expect(describeConfigError(e)).toBe(
      'invalid configuration: ssl.certFile: cannot read /missing.pem (ENOENT) (from KSCHED_SSL_CERT_FILE: "/missing.pem")',
    );
  });

  it('accepts `ssl: true` as a shorthand in the file', () => {
    expect(load({ env: BROKERS, configFile: '/k.json', files: { '/k.json': '{"ssl":true}' } }).connection.ssl).toBe(true);
  });
});

describe('SETTINGS', () => {
  it('gives every setting a unique KSCHED_ variable and key', () => {
    const envs = SETTINGS.map((s) => s.env);
    expect(new Set(envs).size).toBe(envs.length);
    expect(new Set(SETTINGS.map((s) => s.key)).size).toBe(SETTINGS.length);
    for (const env of envs) expect(env).toMatch(/^KSCHED_[A-Z_]+$/);
    // KSCHED_KAFKA_* belongs to scripts/kafka/kafka.sh.
    for (const env of envs) expect(env.startsWith('KSCHED_KAFKA_')).toBe(false);
  });

  it('every setting can be set from its environment variable', () => {
    const sample: Record<string, string> = {
      adapter: 'rdkafka',
      brokers: 'h:1',
      clientId: 'c',
      clientLogLevel: 'info',
      connectionTimeoutMs: '5s',
      requestTimeoutMs: '10s',
      sessionTimeoutMs: '12s',
      partitionAssignmentStrategy: 'cooperative-sticky',
      groupInstanceId: 'ksched-0',
      'ssl.enabled': 'false',
      'ssl.caFile': 'f',
      'ssl.certFile': 'f',
      'ssl.keyFile': 'f',
      'ssl.passphrase': 'p',
      'ssl.rejectUnauthorized': 'true',
      'sasl.mechanism': 'plain',
      'sasl.username': 'u',
      'sasl.password': 'p',
      topics: 't',
      statesPostfix: '_s',
      groupId: 'g',
      transactional: 'true',
      transactionalIdPrefix: 'tx',
      transactionalFencing: 'group',
      deadLetterTopic: 'dlq',
      intervalMs: '2s',
      flushBatchSize: '10',
      statesReportIntervalMs: '2s',
      loadedGraceMs: '1s',
      bufferHorizonMs: '30m',
      bufferMaxBytes: '64MiB',
      rebalanceRetainMs: '2m',
      commitOffsets: 'false',
      retryBackoffMs: '1s',
      undeliverableAttempts: '3',
      undeliverableAfterMs: '1m',
      partitions: '3',
      replicationFactor: '2',
      'http.enabled': 'false',
      'http.host': '0.0.0.0',
      'http.port': '1',
      'ui.enabled': 'true',
      'ui.host': '0.0.0.0',
      'ui.port': '2',
      'ui.token': 'token-of-8+',
      'ui.username': 'ops',
      'ui.password': 'password-8+',
      'ui.readsNeedCredential': 'true',
      'log.level': 'debug',
      'log.pretty': 'false',
      shutdownTimeoutMs: '1s',
    };
    const env = Object.fromEntries(SETTINGS.map((s) => [s.env, sample[s.key]]));
    expect(Object.values(env).every((v) => v !== undefined)).toBe(true);
    // The Web UI takes a token or basic auth, not both: the basic pair is checked on its own.
    const c = load({ env: { ...env, KSCHED_UI_USERNAME: undefined, KSCHED_UI_PASSWORD: undefined }, files: { '/work/f': 'pem' } });
    expect(Object.keys(c.sources).sort()).toEqual(
      SETTINGS.map((s) => s.key)
        .filter((k) => k !== 'ui.username' && k !== 'ui.password')
        .sort(),
    );
    expect(c.ui).toEqual({ enabled: true, host: '0.0.0.0', port: 2, readsNeedCredential: true, auth: { token: 'token-of-8+' } });
    const basic = load({ env: { ...env, KSCHED_UI_TOKEN: undefined }, files: { '/work/f': 'pem' } });
    expect(basic.ui.auth).toEqual({ basic: { username: 'ops', password: 'password-8+' } });
    expect(c.scheduler).toMatchObject({
      groupId: 'g',
      transactionalIdPrefix: 'tx',
      transactionalFencing: 'group',
      deadLetterTopic: 'dlq',
      statesReportIntervalMs: 2000,
      loadedGraceMs: 1000,
      bufferHorizonMs: 1_800_000,
      bufferMaxBytes: 64 * 1024 * 1024,
      rebalanceRetainMs: 120_000,
    });
  });

  it('reads sizes with binary and decimal units, and refuses other words naming the setting', () => {
    expect(load({ env: { KSCHED_BROKERS: 'b:1', KSCHED_BUFFER_MAX_BYTES: '1.5GiB' } }).scheduler.bufferMaxBytes).toBe(1.5 * 1024 ** 3);
    expect(load({ env: { KSCHED_BROKERS: 'b:1', KSCHED_BUFFER_MAX_BYTES: '500kB' } }).scheduler.bufferMaxBytes).toBe(500_000);
    expect(load({ env: { KSCHED_BROKERS: 'b:1', KSCHED_BUFFER_MAX_BYTES: '70000' } }).scheduler.bufferMaxBytes).toBe(70_000);
    expect(() => load({ env: { KSCHED_BROKERS: 'b:1', KSCHED_BUFFER_MAX_BYTES: 'lots' } })).toThrow(
      /bufferMaxBytes.*needs to be a size such as 256MiB/,
    );
    expect(() => load({ env: { KSCHED_BROKERS: 'b:1', KSCHED_BUFFER_MAX_BYTES: '1KiB' } })).toThrow(
      /bufferMaxBytes: needs to be at least 64KiB/,
    );
  });

  it('takes a static group instance id with the rdkafka adapter only, naming the setting otherwise', () => {
    const rd = load({ env: { KSCHED_BROKERS: 'b:1', KSCHED_ADAPTER: 'rdkafka', KSCHED_GROUP_INSTANCE_ID: 'ksched-0' } });
    expect(rd.connection.groupInstanceId).toBe('ksched-0');
    expect(load({ env: { KSCHED_BROKERS: 'b:1', KSCHED_ADAPTER: 'rdkafka' } }).connection.groupInstanceId).toBeUndefined();
    expect(() => load({ env: { KSCHED_BROKERS: 'b:1', KSCHED_GROUP_INSTANCE_ID: 'ksched-0' } })).toThrow(
      /groupInstanceId: is a node-rdkafka setting/,
    );
  });

  it("fencing by the group takes the static group instance id as the member's transactional id, else none (a UUID per start)", () => {
    const env = { KSCHED_BROKERS: 'b:1', KSCHED_ADAPTER: 'rdkafka', KSCHED_TRANSACTIONAL: 'true', KSCHED_TRANSACTIONAL_FENCING: 'group' };
    expect(load({ env: { ...env, KSCHED_GROUP_INSTANCE_ID: 'ksched-0' } }).scheduler.transactionalMemberId).toBe('ksched-0');
    expect(load({ env }).scheduler.transactionalMemberId).toBeUndefined();
    expect(
      load({ env: { ...env, KSCHED_TRANSACTIONAL_FENCING: 'partition', KSCHED_GROUP_INSTANCE_ID: 'ksched-0' } }).scheduler
        .transactionalMemberId,
    ).toBeUndefined();
    expect(() => load({ env: { ...env, KSCHED_TRANSACTIONAL_FENCING: 'member' } })).toThrow(
      /transactionalFencing: needs to be one of partition, group/,
    );
  });

  it('takes the assignment strategy with the rdkafka adapter only, naming the setting otherwise', () => {
    const rd = load({
      env: { KSCHED_BROKERS: 'b:1', KSCHED_ADAPTER: 'rdkafka', KSCHED_PARTITION_ASSIGNMENT_STRATEGY: 'Cooperative-Sticky' },
    });
    expect(rd.connection.partitionAssignmentStrategy).toBe('cooperative-sticky');
    expect(() => load({ env: { KSCHED_BROKERS: 'b:1', KSCHED_PARTITION_ASSIGNMENT_STRATEGY: 'cooperative-sticky' } })).toThrow(
      /partitionAssignmentStrategy: is a node-rdkafka setting/,
    );
    expect(() =>
      load({ env: { KSCHED_BROKERS: 'b:1', KSCHED_ADAPTER: 'rdkafka', KSCHED_PARTITION_ASSIGNMENT_STRATEGY: 'sticky' } }),
    ).toThrow(/partitionAssignmentStrategy: needs to be one of range, roundrobin, cooperative-sticky/);
  });
});

describe('the settings table reads defaults and descriptions from the schemas that own them', () => {
  const spec = (key: string) => SETTINGS.find((s) => s.key === key)!;
  const core = schedulerOptionsSchema.shape;
  const connection = connectionOptionsSchema.shape;
  const coreDurations = [
    'intervalMs',
    'statesReportIntervalMs',
    'loadedGraceMs',
    'bufferHorizonMs',
    'rebalanceRetainMs',
    'retryBackoffMs',
  ] as const;

  it("shows each default as the owning schema's default, written as people write it", () => {
    for (const key of coreDurations) expect(parseDuration(spec(key).defaultText), key).toBe(schemaDefault(core[key]));
    for (const key of ['groupId', 'statesPostfix', 'flushBatchSize', 'transactional', 'commitOffsets'] as const) {
      expect(spec(key).defaultText, key).toBe(String(schemaDefault(core[key])));
    }
    expect(spec('bufferMaxBytes').defaultText).toBe(sizeText(schemaDefault(core.bufferMaxBytes) as number));
    expect(spec('bufferMaxBytes').defaultText).toBe('256MiB');
    expect(spec('clientId').defaultText).toBe(schemaDefault(connection.clientId));
    expect(spec('clientLogLevel').defaultText).toBe(`${String(schemaDefault(connection.logLevel))} (run), nothing (other commands)`);
    expect(parseDuration(spec('requestTimeoutMs').defaultText)).toBe(schemaDefault(connection.requestTimeoutMs));
    expect(spec('ssl.rejectUnauthorized').defaultText).toBe(String(schemaDefault(tlsOptionsSchema.shape.rejectUnauthorized)));
    expect(spec('partitions').defaultText).toBe(String(DEFAULT_SCHEDULES_PARTITIONS));
    // One value for both adapters where they agree; each adapter's own where they do not.
    const session = schemaDefault(kafkaJsTransportOptionsSchema.shape.sessionTimeoutMs);
    expect(schemaDefault(rdKafkaTransportOptionsSchema.shape.sessionTimeoutMs)).toBe(session);
    expect(parseDuration(spec('sessionTimeoutMs').defaultText)).toBe(session);
    const [, kafkajs, rdkafka] = /kafkajs (\S+), rdkafka (\S+)\)$/.exec(spec('connectionTimeoutMs').defaultText)!;
    expect(parseDuration(kafkajs!)).toBe(schemaDefault(kafkaJsConnectionOptionsSchema.shape.connectionTimeoutMs));
    expect(parseDuration(rdkafka!)).toBe(schemaDefault(rdKafkaConnectionOptionsSchema.shape.connectionTimeoutMs));
  });

  it('uses the default it shows when nothing is set', () => {
    const c = load({ env: BROKERS });
    for (const key of [
      ...coreDurations,
      'groupId',
      'statesPostfix',
      'flushBatchSize',
      'transactional',
      'commitOffsets',
      'bufferMaxBytes',
    ] as const) {
      expect(spec(key).defaultValue, key).toBeDefined();
      expect(c.scheduler[key], key).toEqual(spec(key).defaultValue);
    }
    expect(c.connection.clientId).toBe(spec('clientId').defaultValue);
    expect(c.connection.clientLogLevel).toBe(spec('clientLogLevel').defaultValue);
    expect(c.partitions).toBe(spec('partitions').defaultValue);
    expect(c.replicationFactor).toBe(spec('replicationFactor').defaultValue);
    expect(c.http).toEqual({
      enabled: spec('http.enabled').defaultValue,
      host: spec('http.host').defaultValue,
      port: spec('http.port').defaultValue,
    });
    expect(c.log.level).toBe(spec('log.level').defaultValue);
    expect(c.shutdownTimeoutMs).toBe(spec('shutdownTimeoutMs').defaultValue);
    expect(c.scheduler.topics).toEqual(spec('topics').defaultValue);
  });

  it("shows the owning schema's description, and one for every setting", () => {
    for (const key of [...coreDurations, 'groupId', 'statesPostfix', 'transactional', 'deadLetterTopic', 'bufferMaxBytes'] as const) {
      expect(spec(key).description, key).toBe(schemaDescription(core[key]));
    }
    expect(spec('clientId').description).toBe(schemaDescription(connection.clientId));
    expect(spec('ssl.caFile').description).toBe(`${schemaDescription(tlsOptionsSchema.shape.ca)} file`);
    expect(spec('sasl.password').description.startsWith(schemaDescription(saslOptionsSchema.shape.password)!)).toBe(true);
    for (const s of SETTINGS) expect(s.description.length, s.key).toBeGreaterThan(5);
  });

  it('writes durations and sizes in round units', () => {
    expect([3_600_000, 7_200_000, 120_000, 60_000, 15_000, 500, 0, 1500].map(durationText)).toEqual([
      '1h',
      '2h',
      '2m',
      '60s',
      '15s',
      '500ms',
      '0ms',
      '1500ms',
    ]);
    expect([256 * 1024 ** 2, 2 * 1024 ** 3, 65_536, 1000].map(sizeText)).toEqual(['256MiB', '2GiB', '64KiB', '1000']);
  });
});
