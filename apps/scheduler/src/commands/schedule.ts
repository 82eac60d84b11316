import { readFileSync } from 'node:fs';
import { ContractViolationError, Header, InvalidArgumentError, type ScheduleMessage, type Violation } from '@ksched/core';
import { Command, Option } from 'commander';
import { parseDuration, parseTime } from '../duration.js';
import { CliError } from '../errors.js';
import { addSettingOptions, configFor, ONE_SHOT_DEFAULTS, parseNonNegativeInt, processIo, withKafka, type Io } from './common.js';

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

interface ScheduleOptions {
  topic: string;
  key?: string;
  partition?: string;
  partitionKey?: string;
  payload?: string;
  payloadFile?: string;
  header?: string[];
  at?: string;
  in?: string;
  id?: string;
  json?: boolean;
}

async function readStdin(): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return new Uint8Array(Buffer.concat(chunks));
}

/** The payload: text as given, file and stdin contents as bytes (binary-safe). */
async function payloadOf(options: ScheduleOptions): Promise<string | Uint8Array<ArrayBuffer>> {
  if (options.payload !== undefined) return options.payload;
  if (options.payloadFile !== undefined && options.payloadFile !== '-') {
    try {
      return new Uint8Array(readFileSync(options.payloadFile));
    } catch (error) {
      throw new CliError(`--payload-file: cannot read ${options.payloadFile} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
    }
  }
  if (options.payloadFile === undefined && process.stdin.isTTY) {
    throw new CliError('no payload: give --payload <text>, --payload-file <path>, or pipe it on stdin');
  }
  return readStdin();
}

function headersOf(pairs: readonly string[] | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new CliError(`--header needs name=value, got ${JSON.stringify(pair)}`);
    headers[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return headers;
}

/** The flag the user typed that a builder's violation (named by message field or wire header) is about. */
export function flagOfField(field: string, options: Pick<ScheduleOptions, 'at' | 'in'>): string {
  const due = options.at !== undefined ? '--at' : '--in';
  const byField: Readonly<Record<string, string>> = {
    at: due,
    epoch: due,
    delayMs: due,
    [`headers.${Header.targetEpoch}`]: due,
    [`headers.${Header.targetEpochMs}`]: due,
    'message.topic': '-t/--topic',
    [`headers.${Header.targetTopic}`]: '-t/--topic',
    'message.key': '-k/--key',
    [`headers.${Header.targetKey}`]: '-k/--key',
    'message.partition': '--partition',
    [`headers.${Header.targetPartition}`]: '--partition',
    'message.partitionKey': '--partition-key',
    [`headers.${Header.targetPartitionKey}`]: '--partition-key',
    'message.payload': '--payload',
    'envelope.key': '--id',
    key: '--id',
  };
  const flag = byField[field];
  if (flag !== undefined) return flag;
  if (field.startsWith('message.headers') || field.startsWith('headers.')) return '-H/--header';
  return field;
}

/** A builder's refusal, told in the flags the user typed. */
function asFlagError(error: unknown, options: Pick<ScheduleOptions, 'at' | 'in'>): unknown {
  if (!InvalidArgumentError.isInstance(error) && !ContractViolationError.isInstance(error)) return error;
  const violations: readonly Violation[] = error.violations;
  return new CliError(`invalid input: ${violations.map((v) => `${flagOfField(v.field, options)}: ${v.message}`).join('; ')}`);
}

/** The due time: exactly one of `--at` and `--in`. */
export function dueOf(options: Pick<ScheduleOptions, 'at' | 'in'>, nowMs: number): { epoch: number } | { at: number } {
  if (options.at !== undefined) {
    const t = parseTime(options.at);
    if (t === undefined)
      throw new CliError(
        `--at needs an ISO 8601 time (2030-01-01T09:30:00Z) or Unix epoch seconds or milliseconds, got ${JSON.stringify(options.at)}`,
      );
    return 'epoch' in t ? { epoch: t.epoch } : { at: t.atMs };
  }
  if (options.in !== undefined) {
    const ms = parseDuration(options.in);
    if (ms === undefined) throw new CliError(`--in needs a duration such as 90s, 5m, 1h30m, got ${JSON.stringify(options.in)}`);
    // Fixed now, so that the due time printed is the one written.
    return { at: nowMs + ms };
  }
  throw new CliError('no due time: give --at <time> or --in <duration>');
}

/** `ksched schedule`: write a schedule to a schedules topic. */
export function scheduleCommand(io: Io = processIo): Command {
  const command = new Command('schedule')
    .summary('schedule a message for later delivery')
    .description(
      'Schedule a message: write a v1.0.0 envelope to the schedules topic; the scheduler produces the message to its target topic at the due time. ' +
        'The payload comes from --payload, --payload-file, or stdin.',
    );
  command
    .requiredOption('-t, --topic <topic>', 'target topic the message is delivered to')
    .option('-k, --key <key>', 'key of the delivered message')
    .option('--partition <n>', 'partition of the delivered message (default: by key)')
    .option('--partition-key <key>', 'partition key of the delivered message (hashed instead of the key)')
    .addOption(new Option('-p, --payload <text>', 'payload text').conflicts('payloadFile'))
    .option('-f, --payload-file <path>', 'read the payload from a file (- for stdin)')
    .option('-H, --header <name=value>', 'header of the delivered message (repeatable)', collect)
    .addOption(new Option('--at <time>', 'due time: ISO 8601 (2030-01-01T09:30:00Z) or Unix epoch seconds / milliseconds').conflicts('in'))
    .option('--in <duration>', 'due after a delay: 90s, 5m, 1h30m, 250ms')
    .option('--id <key>', 'key of the schedule itself, to cancel or replace it later (default <topic>-<uuid>)')
    .option('--json', 'print the result as JSON');
  addSettingOptions(command, ['connection', 'topics']);
  command.addHelpText(
    'after',
    `
The schedule goes to the first schedules topic (-s/--schedules-topic, KSCHED_TOPICS). It prints
the schedule's key and partition: pass both to \`ksched cancel\`.

Examples:
  ksched schedule -t orders -k order-42 --payload '{"remind":true}' --in 90s
  ksched schedule -t reports --at 2030-01-01T09:30:00Z --payload-file report.json -H source=cron
  echo hello | ksched schedule -t greetings --in 1h30m --id greeting-1 --json`,
  );
  command.action(async (options: ScheduleOptions, cmd: Command) => {
    const config = configFor(cmd, { defaults: ONE_SHOT_DEFAULTS });
    // Everything the user typed is checked before connecting, so bad input produces nothing.
    const due = dueOf(options, Date.now());
    const headers = headersOf(options.header);
    const partition = options.partition !== undefined ? parseNonNegativeInt(options.partition, '--partition') : undefined;
    const payload = await payloadOf(options);
    const message: ScheduleMessage = {
      topic: options.topic,
      payload,
      ...(options.key !== undefined ? { key: options.key } : {}),
      ...(partition !== undefined ? { partition } : {}),
      ...(options.partitionKey !== undefined ? { partitionKey: options.partitionKey } : {}),
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
    };
    const schedulesTopic = config.scheduler.topics[0]!;
    await withKafka(config, async ({ adapter, transport }) => {
      const client = adapter.createScheduleClient({ transport, schedulesTopic });
      const ref = await client
        .schedule({ message, ...(options.id !== undefined ? { envelope: { key: options.id } } : {}), ...due })
        .catch((error: unknown) => {
          throw asFlagError(error, options);
        });
      const dueMs = 'epoch' in due ? due.epoch * 1000 : due.at;
      const result = {
        key: ref.key,
        schedulesTopic: ref.topic,
        partition: ref.partition,
        offset: ref.offset,
        targetTopic: options.topic,
        dueAt: new Date(dueMs).toISOString(),
      };
      if (options.json) io.out(JSON.stringify(result));
      else
        io.out(
          `scheduled ${ref.key} for ${options.topic} at ${result.dueAt} (${ref.topic}/${ref.partition}@${ref.offset}); cancel: ksched cancel ${ref.key} --partition ${ref.partition}`,
        );
    });
  });
  return command;
}
