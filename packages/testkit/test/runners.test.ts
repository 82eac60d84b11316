/**
 * `@ksched/testkit` works without vitest: nothing its main entry reaches imports vitest, and plain
 * `node` and `node --test` run scenarios on the built package with vitest unresolvable
 * (test/runners/no-vitest.mjs). The README's node:test and Vitest examples are the files in
 * test/runners/ (reminder.vitest.test.ts runs as a unit test of its own).
 *
 * Needs the testkit and core built (`pnpm build`, which CI runs before the tests): the programs
 * import the package as users do, through its `exports`, which give `dist/` outside this repo's
 * vitest.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const pkg = fileURLToPath(new URL('../', import.meta.url));
const runners = join(pkg, 'test/runners');
const noVitest = pathToFileURL(join(runners, 'no-vitest.mjs')).href;

/** Runs `node` in the package folder with vitest unresolvable in it and in the processes it starts. */
function nodeWithoutVitest(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const nodeOptions = [process.env['NODE_OPTIONS'], `--import=${noVitest}`].filter(Boolean).join(' ');
  return run(process.execPath, args, { cwd: pkg, timeout: 60_000, env: { ...process.env, NODE_OPTIONS: nodeOptions } });
}

/** Import and re-export specifiers: `import … from`, `export … from`, `import '…'` and `import('…')`. */
const SPECIFIERS = /^\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]/gm;

/** The specifiers `file` imports or re-exports from. */
async function specifiersOf(file: string): Promise<string[]> {
  return [...(await readFile(file, 'utf8')).matchAll(SPECIFIERS)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

/**
 * The bare specifiers of every module reachable from `entry` through relative imports and
 * re-exports (static and dynamic), in the built JavaScript or declarations.
 */
async function bareImports(entry: string): Promise<Set<string>> {
  const seen = new Set<string>();
  const bare = new Set<string>();
  const pending = [entry];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    for (const specifier of await specifiersOf(file)) {
      if (!specifier.startsWith('.')) bare.add(specifier);
      else pending.push(resolve(dirname(file), file.endsWith('.d.ts') ? specifier.replace(/\.js$/, '.d.ts') : specifier));
    }
  }
  return bare;
}

const vitestImports = (specifiers: Set<string>): string[] => [...specifiers].filter((s) => s === 'vitest' || s.startsWith('vitest/'));

beforeAll(() => {
  for (const built of ['dist/index.js', 'dist/vitest.js', '../core/dist/index.js']) {
    if (!existsSync(join(pkg, built))) throw new Error(`${join(pkg, built)} is missing: run \`pnpm build\` first (CI does)`);
  }
});

describe('@ksched/testkit without vitest', () => {
  it('nothing the built main entry reaches (code or declarations) imports vitest; the vitest entry does', async () => {
    const main = await bareImports(join(pkg, 'dist/index.js'));
    expect(vitestImports(main)).toEqual([]);
    expect([...main].sort()).toEqual(['@ksched/core', '@ksched/core/adapter']); // nor the vitest entry
    const declarations = await bareImports(join(pkg, 'dist/index.d.ts'));
    expect(vitestImports(declarations)).toEqual([]);
    expect([...declarations].sort()).toEqual(['@ksched/core', '@ksched/core/adapter']);
    expect(vitestImports(await bareImports(join(pkg, 'dist/vitest.js')))).toEqual(['vitest']);
  });

  it('nothing the main entry reaches in the source imports vitest, not even for types', async () => {
    // The same walk over src/ (TypeScript imports say `.js`): type-only imports count here too.
    const seen = new Set<string>();
    const found: string[] = [];
    const pending = [join(pkg, 'src/index.ts')];
    for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
      if (seen.has(file)) continue;
      seen.add(file);
      for (const specifier of await specifiersOf(file)) {
        if (specifier.startsWith('.')) pending.push(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
        else if (specifier === 'vitest' || specifier.startsWith('vitest/')) found.push(`${file}: ${specifier}`);
      }
    }
    expect(seen.size).toBeGreaterThan(10);
    expect(found).toEqual([]);
  });

  it('a plain node program schedules and dispatches on fake time with vitest unresolvable', async () => {
    const { stdout } = await nodeWithoutVitest([join(runners, 'schedule-and-dispatch.mjs')]);
    const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as { early: number; dispatched: unknown[]; vitestEntry: string };
    expect(out.early).toBe(0);
    expect(out.dispatched).toEqual([{ key: 'welcome', value: 'hi', timestamp: Date.parse('2026-03-01T09:01:00Z') }]);
    // The hook works: the vitest entry, which does import vitest, fails to load in the same process.
    expect(out.vitestEntry).toMatch(/^vitest is not installed here \(imported by file:.*\/dist\//);
  });

  it("the README's node:test example and the broker harness on node:test's hooks pass under node --test, with vitest unresolvable", async () => {
    const { stdout } = await nodeWithoutVitest([
      '--test',
      '--test-reporter=tap',
      join(runners, 'reminder.node-test.mjs'),
      join(runners, 'broker-harness.node-test.mjs'),
      join(runners, 'vitest-unresolvable.node-test.mjs'),
    ]);
    expect(stdout).toMatch(/^ok \d+ - the reminder goes 24 h later, to the millisecond, and not before$/m);
    expect(stdout).toMatch(/^ok \d+ - a cancelled reminder is never sent$/m);
    expect(stdout).toMatch(/^ok \d+ - the transports of the previous test were closed after it$/m);
    expect(stdout).toContain('broker harness cleaned up after the file');
    expect(stdout).toMatch(/^ok \d+ - vitest cannot be imported in this process$/m);
    expect(stdout).toMatch(/^# pass 5$/m);
    expect(stdout).toMatch(/^# fail 0$/m);
  });

  it('the README shows the node:test and Vitest examples exactly as they run here', async () => {
    const readme = await readFile(join(pkg, 'README.md'), 'utf8');
    for (const [file, lang] of [
      ['reminder.node-test.mjs', 'js'],
      ['reminder.vitest.test.ts', 'ts'],
    ] as const) {
      const code = await readFile(join(runners, file), 'utf8');
      expect(readme, `README.md shows test/runners/${file}`).toContain(`\`\`\`${lang}\n${code}\`\`\`\n`);
    }
  });
});
