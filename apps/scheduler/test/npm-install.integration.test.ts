/**
 * The service as a new user installs it: every package it needs packed (`pnpm pack`), the tarballs
 * installed with plain npm into an empty folder (third-party packages from the registry), then
 * `npx ksched --help`, `ksched topics migrate`, `ksched run` and `ksched schedule` against the real
 * broker, and the schedule dispatched. It runs the compiled JavaScript: no TypeScript sources and no
 * tsx are in the install.
 *
 * Needs the packages built (`pnpm build`, which CI runs before the tests) and the npm registry.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokers, cleanEnv, waitFor, watchTopic } from './helpers.js';

const exec = promisify(execFile);
const repo = fileURLToPath(new URL('../../../', import.meta.url));

/** The folders of apps/scheduler and of every workspace package it depends on (not its optional peers). */
async function workspaceClosure(): Promise<string[]> {
  const folders = new Map<string, string>();
  for (const parent of ['packages', 'apps']) {
    for (const name of await readdir(join(repo, parent))) {
      const file = join(repo, parent, name, 'package.json');
      if (existsSync(file)) folders.set((JSON.parse(await readFile(file, 'utf8')) as { name: string }).name, `${parent}/${name}`);
    }
  }
  const out: string[] = [];
  const visit = async (name: string): Promise<void> => {
    const folder = folders.get(name)!;
    if (out.includes(folder)) return;
    out.push(folder);
    const pkg = JSON.parse(await readFile(join(repo, folder, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    for (const dep of Object.keys(pkg.dependencies ?? {})) if (folders.has(dep)) await visit(dep);
  };
  await visit('@ksched/scheduler');
  return out;
}
const id = randomUUID().slice(0, 8);
const topic = `it_npm_${id}`;
const target = `it_npm_target_${id}`;

describe('ksched installed from its packed tarballs with npm', () => {
  let dir = '';
  let running: ChildProcess | undefined;
  const env = () => cleanEnv({ KSCHED_BROKERS: brokers(), KSCHED_TOPICS: topic, KSCHED_LOG_PRETTY: 'false' });
  const npx = (args: readonly string[]) => exec('npx', ['--no-install', 'ksched', ...args], { cwd: dir, env: env(), timeout: 120_000 });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ksched-npm-service-'));
    const packages = await workspaceClosure();
    expect(packages).toContain('packages/core');
    for (const pkg of packages) await exec('pnpm', ['pack', '--pack-destination', dir], { cwd: join(repo, pkg) });
    const tarballs = (await readdir(dir)).filter((f) => f.endsWith('.tgz')).map((f) => join(dir, f));
    expect(tarballs).toHaveLength(packages.length);
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'npm-service-user', private: true }));
    await exec('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], { cwd: dir, timeout: 300_000 });
  }, 400_000);

  afterAll(async () => {
    running?.kill('SIGKILL');
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('installs compiled JavaScript only: no sources, no tsx, no native build', async () => {
    const installed = join(dir, 'node_modules/@ksched/scheduler');
    expect(existsSync(join(installed, 'dist/cli.js'))).toBe(true);
    expect(existsSync(join(installed, 'src'))).toBe(false);
    expect(existsSync(join(dir, 'node_modules/tsx'))).toBe(false);
    // node-rdkafka is an optional peer: not installed (nor built) unless asked for.
    expect(existsSync(join(dir, 'node_modules/node-rdkafka'))).toBe(false);
    const pkg = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.values(pkg.dependencies).some((v) => v.startsWith('workspace:'))).toBe(false);
  });

  it('npx ksched --help lists the commands; the rdkafka adapter, not installed, is a clear error', async () => {
    const { stdout } = await npx(['--help']);
    for (const command of ['run', 'start', 'topics', 'schedule', 'cancel', 'find', 'ui'])
      expect(stdout).toMatch(new RegExp(`\\n  ${command}\\b`));
    const rdkafka = await npx(['topics', 'migrate', '--adapter', 'rdkafka', '--dry-run']).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(rdkafka?.code).toBe(2);
    expect(rdkafka?.stderr).toContain('npm install @ksched/kafka-adapter-rdkafka node-rdkafka');
  });

  it('migrates topics, runs the scheduler and dispatches a schedule on the real broker', async () => {
    expect((await npx(['topics', 'migrate', '--partitions', '2'])).stdout).toContain(`created ${topic}`);
    await npx(['topics', 'migrate', '-s', target, '--partitions', '1']);
    const watcher = await watchTopic(target);
    try {
      // The installed bin itself (npx would not pass the SIGTERM on).
      running = spawn(join(dir, 'node_modules/.bin/ksched'), ['run', '--http-port', '0', '--group-id', `it_npm_group_${id}`], {
        cwd: dir,
        env: env(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let logs = '';
      running.stdout!.setEncoding('utf8').on('data', (chunk: string) => (logs += chunk));
      running.stderr!.setEncoding('utf8').on('data', (chunk: string) => (logs += chunk));
      await waitFor('the installed scheduler running', () => logs.includes('"msg":"scheduler running"'), 90_000);
      const scheduled = await npx(['schedule', '-t', target, '-k', 'from-npm', '--payload', 'installed', '--in', '2s', '--json']);
      const ref = JSON.parse(scheduled.stdout) as { key: string; dueAt: string };
      const record = await waitFor(
        'the dispatched message',
        () => watcher.records.find((r) => r.key !== null && new TextDecoder().decode(r.key) === 'from-npm'),
        60_000,
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}; the scheduler logged: ${logs.slice(-3000)}`);
      });
      expect(new TextDecoder().decode(record.value!)).toBe('installed');
      expect(record.timestamp).toBeGreaterThanOrEqual(Date.parse(ref.dueAt));
      running.kill('SIGTERM');
      const code = await new Promise<number | null>((resolve) => running!.once('close', resolve));
      expect(code).toBe(0);
    } finally {
      await watcher.close();
    }
  }, 240_000);
});
