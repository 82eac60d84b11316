import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Logs and tables, outside the repository (so format/lint checks never see them). */
export const OUT_DIR = process.env['CHAOS_OUT_DIR'] ?? join(tmpdir(), 'ksched-chaos');
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const log = (msg: string): void => {
  process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 23)}] ${msg}\n`);
};

/** Every child we spawned, so the harness can kill them all on exit, error or timeout. */
const children = new Set<ChildProcess>();
/** Pids of the children stopped with SIGSTOP and not continued yet. */
const paused = new Set<number>();

/** Every child SIGKILLed; a child stopped with SIGSTOP ({@link pause}) is sent SIGCONT first, so nothing is left stopped. */
export function killAll(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
      try {
        if (paused.has(c.pid)) process.kill(c.pid, 'SIGCONT');
        paused.delete(c.pid);
        process.kill(c.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  children.clear();
}

let nextPort = Number(process.env['CHAOS_HTTP_PORT_BASE'] ?? 19760);

/**
 * The next HTTP port for a scheduler, skipping the local broker's ports (its listener, controller
 * and SASL_SSL listener: `KSCHED_KAFKA_PORT` + 0..2). A full run starts over 40 schedulers, and
 * with the broker on 19792 the 33rd got the broker's own port (EADDRINUSE).
 */
function takeHttpPort(): number {
  const broker = Number(process.env['KSCHED_KAFKA_PORT'] ?? 19692);
  while (nextPort >= broker && nextPort <= broker + 2) nextPort++;
  return nextPort++;
}

export interface SchedulerProc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly port: number;
  readonly logFile: string;
  /** Set when we killed or stopped it ourselves. */
  expectedExit: boolean;
  /** Resolves with the exit code/signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Called when it exits without us asking (a crash). */
  crashed: boolean;
}

export interface SchedulerEnv {
  brokers: string;
  topics: string;
  groupId: string;
  transactional: boolean;
  deadLetterTopic?: string;
  /** More `KSCHED_*` settings for this scheduler (e.g. `KSCHED_SESSION_TIMEOUT_MS`). */
  extraEnv?: Record<string, string>;
}

export function startScheduler(name: string, runDir: string, env: SchedulerEnv): SchedulerProc {
  mkdirSync(runDir, { recursive: true });
  const port = takeHttpPort();
  const logFile = join(runDir, `${name}.log`);
  const out = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, [join(ROOT, 'apps/scheduler/bin/ksched.js'), 'run'], {
    cwd: ROOT,
    env: {
      ...process.env,
      KSCHED_BROKERS: env.brokers,
      KSCHED_TOPICS: env.topics,
      KSCHED_GROUP_ID: env.groupId,
      KSCHED_TRANSACTIONAL: env.transactional ? 'true' : 'false',
      KSCHED_DEAD_LETTER_TOPIC: env.deadLetterTopic ?? '',
      KSCHED_HTTP_PORT: String(port),
      KSCHED_LOG_LEVEL: 'info',
      KSCHED_LOG_PRETTY: 'false',
      KSCHED_CLIENT_ID: `chaos-${name}`,
      KSCHED_INTERVAL_MS: '2s',
      KSCHED_LOADED_GRACE_MS: '3s',
      ...env.extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const proc: SchedulerProc = {
    name,
    child,
    port,
    logFile,
    expectedExit: false,
    crashed: false,
    exited: new Promise((res) => {
      child.on('exit', (code, signal) => {
        children.delete(child);
        if (child.pid !== undefined) paused.delete(child.pid);
        if (!proc.expectedExit) {
          proc.crashed = true;
          log(`CRASH: scheduler ${name} exited by itself (code ${code}, signal ${signal}); log ${logFile}`);
        }
        res({ code, signal });
      });
    }),
  };
  return proc;
}

export async function httpGet(port: number, path: string): Promise<{ status: number; body: string } | undefined> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(3000) });
    return { status: r.status, body: await r.text() };
  } catch {
    return undefined;
  }
}

/** Waits for /readyz 200 (every assigned partition loaded, or a standby member of the group with none). */
export async function waitReady(p: SchedulerProc, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return false;
    const r = await httpGet(p.port, '/readyz');
    if (r?.status === 200) return true;
    await sleep(250);
  }
  return false;
}

export function kill9(p: SchedulerProc): void {
  p.expectedExit = true;
  if (p.child.pid !== undefined) process.kill(p.child.pid, 'SIGKILL');
}

/** SIGSTOP: the process is frozen (no timers, no heartbeats, no I/O) until {@link resume}. */
export function pause(p: SchedulerProc): void {
  if (p.child.pid === undefined) return;
  process.kill(p.child.pid, 'SIGSTOP');
  paused.add(p.child.pid);
}

/** SIGCONT after {@link pause}. */
export function resume(p: SchedulerProc): void {
  if (p.child.pid === undefined) return;
  paused.delete(p.child.pid);
  if (alive(p)) process.kill(p.child.pid, 'SIGCONT');
}

/** SIGTERM, then SIGKILL after `timeoutMs`. Returns the exit code (null when killed). */
export async function stopScheduler(p: SchedulerProc, timeoutMs = 35_000): Promise<number | null> {
  p.expectedExit = true;
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.child.exitCode;
  if (p.child.pid !== undefined && paused.has(p.child.pid)) resume(p); // a stopped process would never see the SIGTERM
  p.child.kill('SIGTERM');
  const t = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const r = await p.exited;
  clearTimeout(t);
  return r.code;
}

/** Resident set size of a pid in MiB (Linux /proc), or undefined. */
export function rssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Parses Prometheus text: returns [labels, value] for each sample of `metric`. */
export function metricSamples(text: string, metric: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== metric) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ labels, value: Number(m[4]) });
  }
  return out;
}

/** Starts the local broker on KSCHED_KAFKA_PORT (default 19692 for chaos); returns its address. */
export function startLocalBroker(): string {
  const port = process.env['KSCHED_KAFKA_PORT'] ?? '19692';
  const r = spawnSync(join(ROOT, 'scripts/kafka/kafka.sh'), ['start'], {
    env: { ...process.env, KSCHED_KAFKA_PORT: port },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`kafka.sh start failed (exit ${r.status})`);
  return r.stdout.trim().split('\n').pop() ?? `127.0.0.1:${port}`;
}

export function stopLocalBroker(): void {
  const port = process.env['KSCHED_KAFKA_PORT'] ?? '19692';
  spawnSync(join(ROOT, 'scripts/kafka/kafka.sh'), ['stop'], {
    env: { ...process.env, KSCHED_KAFKA_PORT: port },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

/** Stops and starts the local broker (same port, data kept), without blocking the event loop. */
export async function restartLocalBroker(): Promise<{ stopMs: number; startMs: number }> {
  const took: number[] = [];
  const port = process.env['KSCHED_KAFKA_PORT'] ?? '19692';
  for (const cmd of ['stop', 'start']) {
    const t = Date.now();
    const code = await new Promise<number | null>((res) => {
      const c = spawn(join(ROOT, 'scripts/kafka/kafka.sh'), [cmd], {
        env: { ...process.env, KSCHED_KAFKA_PORT: port },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      c.on('exit', (code) => res(code));
    });
    if (code !== 0) throw new Error(`kafka.sh ${cmd} failed (exit ${code})`);
    took.push(Date.now() - t);
  }
  return { stopMs: took[0]!, startMs: took[1]! };
}

/** True while the process runs (not exited, not killed). */
export const alive = (p: SchedulerProc): boolean => p.child.exitCode === null && p.child.signalCode === null;

/**
 * Lines ksched itself logged at error or fatal (pino levels 50/60) in a scheduler's JSON log;
 * the Kafka client's own lines (`"component":"kafkajs"` or `"component":"rdkafka"`, every refused
 * connection while the broker is down) are left out.
 */
export function errorLines(p: SchedulerProc): string[] {
  try {
    return readFileSync(p.logFile, 'utf8')
      .split('\n')
      .filter((l) => /"level":(50|60)/.test(l) && !/"component":"(kafkajs|rdkafka)"/.test(l));
  } catch {
    return [];
  }
}

/** One row of the harness's table (every trial kind returns these). */
export interface TrialRow {
  trial: string;
  mode: string;
  n: number;
  lost: number;
  dup: number;
  early: number;
  crashes: number;
  invalid: number | '';
  notes: string;
  ok: boolean;
  /** Broker-restart trials: per restart, from `kafka.sh start` returning to the first dispatch after it (CreateTime), ms. */
  brokerPausesMs?: number[];
  /** Restart-in-place trials: the worst lateness of the schedules due after the kill, ms. */
  restartLateMs?: number;
}
