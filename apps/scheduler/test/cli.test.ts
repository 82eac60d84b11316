import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../src/config.js';
import { buildProgram, runCli } from '../src/program.js';
import { flagOfField } from '../src/commands/schedule.js';

function memoryIo() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) }, out, err };
}

async function cli(...args: string[]) {
  const { io, out, err } = memoryIo();
  const code = await runCli(['node', 'ksched', ...args], io);
  return {
    code,
    out: out.join('\n'),
    err: err.join('\n'),
    errLines: err
      .join('\n')
      .split('\n')
      .filter((l) => l !== ''),
  };
}

function commandPaths(command: Command, prefix: string[] = []): string[][] {
  return command.commands.flatMap((c) => [[...prefix, c.name()], ...commandPaths(c, [...prefix, c.name()])]);
}

const paths = commandPaths(buildProgram());

describe('help', () => {
  it('lists every command in `ksched --help`', async () => {
    const { code, out } = await cli('--help');
    expect(code).toBe(0);
    for (const name of ['run', 'start', 'topics', 'schedule', 'cancel', 'status', 'list', 'find', 'reschedule'])
      expect(out).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    expect(out).toContain('flags > environment > config file > defaults');
    expect(out).toContain('Exit codes');
  });

  it('prints help and exits 2 without a command', async () => {
    const { code, out } = await cli();
    expect(code).toBe(2);
    expect(out).toContain('Usage: ksched');
  });

  it.each(paths.map((p) => [p.join(' ')]))('`ksched %s --help` is complete', async (path) => {
    const { code, out } = await cli(...path.split(' '), '--help');
    expect(code).toBe(0);
    expect(out).toContain(`Usage: ksched ${path}`);
    const command = path.split(' ').reduce<Command>((c, name) => c.commands.find((x) => x.name() === name)!, buildProgram());
    expect(command.description().length).toBeGreaterThan(20);
    for (const option of command.options) {
      expect(option.description, `${path} ${option.flags}`).not.toBe('');
      expect(out).toContain(option.long!);
    }
    if (command.commands.length === 0) expect(out).toContain('Examples:');
  });

  it('names the environment variable of every setting flag', async () => {
    const { out } = await cli('start', '--help');
    const flat = out.replace(/\s+/g, ' ');
    for (const spec of SETTINGS.filter((s) => s.flags !== undefined)) expect(flat).toContain(`env ${spec.env}`);
  });

  it('prints the version', async () => {
    const { code, out } = await cli('--version');
    expect(code).toBe(0);
    expect(out).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('bad input gives one line on stderr and exit 2, before connecting', () => {
  // An address nothing listens on: if a command tried to connect, it would fail differently (exit 1).
  const B = ['-b', '127.0.0.1:1'];

  it.each([
    [['nope'], /^error: unknown command 'nope'/],
    [['run', '--bogus', ...B], /^error: unknown option '--bogus'/],
    [
      ['run', ...B, '--interval', '500ms'],
      /^error: invalid configuration: intervalMs: needs to be at least 1s \(from --interval: "500ms"\)$/,
    ],
    [['run', ...B, '--http-port', 'abc'], /^error: invalid configuration: http\.port: .*\(from --http-port: "abc"\)$/],
    [['run', ...B, '--adapter', 'librdkafka'], /^error: invalid configuration: adapter: needs to be one of kafkajs, rdkafka/],
    [['run', '-b', 'nohost'], /^error: invalid configuration: brokers: each broker needs to be host:port/],
    [
      ['run', ...B, '--config', '/does/not/exist.json'],
      /^error: invalid configuration: config: cannot read config file \/does\/not\/exist\.json/,
    ],
    [['schedule', ...B, '--payload', 'x', '--in', '5s'], /^error: required option '-t, --topic <topic>' not specified$/],
    [['schedule', ...B, '-t', 'orders', '--payload', 'x'], /^error: no due time: give --at <time> or --in <duration>$/],
    [['schedule', ...B, '-t', 'orders', '--payload', 'x', '--in', '5x'], /^error: --in needs a duration such as 90s, 5m, 1h30m, got "5x"$/],
    [['schedule', ...B, '-t', 'orders', '--payload', 'x', '--at', 'tomorrow'], /^error: --at needs an ISO 8601 time/],
    [
      ['schedule', ...B, '-t', 'orders', '--payload', 'x', '--in', '5s', '--at', '1893456000'],
      /^error: option '--at <time>' cannot be used with option '--in <duration>'$/,
    ],
    [
      ['schedule', ...B, '-t', 'orders', '--payload', 'x', '--in', '5s', '-H', 'novalue'],
      /^error: --header needs name=value, got "novalue"$/,
    ],
    [
      ['schedule', ...B, '-t', 'orders', '--payload', 'x', '--in', '5s', '--partition', '-1'],
      /^error: --partition needs to be an integer ≥ 0, got "-1"$/,
    ],
    [
      ['schedule', ...B, '-t', 'orders', '--payload', 'x', '--in', '5s', '--payload-file', 'f'],
      /^error: option '-p, --payload <text>' cannot be used with option '-f, --payload-file <path>'$/,
    ],
    [
      ['schedule', ...B, '-t', 'orders', '--payload-file', '/does/not/exist', '--in', '5s'],
      /^error: --payload-file: cannot read \/does\/not\/exist \(ENOENT\)$/,
    ],
    [['cancel', ...B], /^error: missing required argument 'key'$/],
    [['cancel', 'k', ...B, '--partition', 'x'], /^error: --partition needs to be an integer ≥ 0, got "x"$/],
    [['list', ...B, '--limit', '0'], /^error: --limit needs to be at least 1$/],
    [['list', ...B, '--limit', '5000'], /^error: --limit can be at most 1000$/],
    [['list', ...B, '--since', 'yesterday'], /^error: --since needs an ISO 8601 time/],
    [
      ['list', ...B, '--since', '2030-01-01', '--from', '3'],
      /^error: option '--from <offset>' cannot be used with option '--since <time>'$/,
    ],
    [['find', ...B], /^error: missing required argument 'key'$/],
    [['find', 'k', ...B, '--partition', 'x'], /^error: --partition needs to be an integer ≥ 0, got "x"$/],
    [['reschedule', 'k', ...B], /^error: no due time: give --at <time> or --in <duration>$/],
    [['reschedule', 'k', ...B, '--in', 'soon'], /^error: --in needs a duration such as 90s, 5m, 1h30m, got "soon"$/],
    [['list', ...B, '--from', 'start'], /^error: --from needs to be an integer ≥ 0, got "start"$/],
    [
      ['topics', 'migrate', ...B, '--partitions', '0'],
      /^error: invalid configuration: partitions: needs to be an integer ≥ 1 \(from --partitions: "0"\)$/,
    ],
  ])('ksched %j', async (args, message) => {
    const { code, out, errLines } = await cli(...args);
    expect(errLines).toHaveLength(1);
    expect(errLines[0]).toMatch(message);
    expect(code).toBe(2);
    expect(out).toBe('');
  });

  it('takes `pnpm start -- --flags`: a -- right after the command is dropped', async () => {
    const plain = await cli('start', '--help');
    const dashed = await cli('start', '--', '--help');
    expect(dashed.code).toBe(0);
    expect(dashed.out).toBe(plain.out);
    expect(plain.out).toContain('pnpm start --no-demo --http-port 9465');
    expect(plain.out).not.toContain('pnpm start -- ');
  });

  it('names the flag a builder refusal is about, not the wire header', () => {
    expect(flagOfField('headers.schedule_target_epoch_ms', { in: '5s' })).toBe('--in');
    expect(flagOfField('headers.schedule_target_epoch', { at: '2001-01-01' })).toBe('--at');
    expect(flagOfField('message.topic', {})).toBe('-t/--topic');
    expect(flagOfField('headers.schedule_target_partition_key', {})).toBe('--partition-key');
    expect(flagOfField('message.headers.trace', {})).toBe('-H/--header');
    expect(flagOfField('envelope.key', {})).toBe('--id');
  });

  it('reports a schedule the core builder refuses (past due time) as invalid input', async () => {
    const { code, errLines } = await cli('schedule', ...B, '-t', 'orders', '--payload', 'x', '--at', '2001-01-01T00:00:00Z');
    expect(code).toBe(2);
    expect(errLines).toHaveLength(1);
    expect(errLines[0]).toMatch(/^error: invalid input: --at: scheduling cannot happen in the past/);
  });
});

describe('README', async () => {
  const { readFileSync } = await import('node:fs');
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

  it('documents every setting: key, environment variable and flags', () => {
    for (const spec of SETTINGS) {
      expect(readme).toContain(`\`${spec.key}\``);
      expect(readme).toContain(`\`${spec.env}\``);
      for (const flag of spec.flags ?? []) expect(readme).toContain(flag);
    }
  });

  it.each(paths.map((p) => [p.join(' ')]))('documents `ksched %s`', (path) => {
    expect(readme).toContain(`ksched ${path}`);
  });
});
