/**
 * Core's layering, checked mechanically: no Kafka client, no other ksched package, no global
 * time outside the clock port, and `zod` as the only runtime dependency.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it, expect } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const srcDir = join(root, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|cts|js|mjs|cjs)$/.test(entry.name) ? [path] : [];
  });
}

const files = sourceFiles(srcDir).map((path) => ({
  name: relative(srcDir, path).split(sep).join('/'),
  text: readFileSync(path, 'utf8'),
}));

/** Every module specifier a file imports, re-exports, requires or imports dynamically. */
function specifiers(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]/g,
  ];
  for (const pattern of patterns) for (const match of text.matchAll(pattern)) found.push(match[1]!);
  return found;
}

describe('core purity', () => {
  it('finds the sources', () => {
    expect(files.map((f) => f.name)).toContain('index.ts');
    expect(files.map((f) => f.name)).toContain('ports/clock.ts');
    expect(files.length).toBeGreaterThan(10);
  });

  it('the import scanner sees what it must', () => {
    expect(
      specifiers(`import { a } from 'kafkajs';\nexport * from "./x.js";\nconst m = await import('node-rdkafka');\nimport 'side';`),
    ).toEqual(['kafkajs', './x.js', 'side', 'node-rdkafka']);
  });

  it('imports no Kafka client, no other @ksched package and no testkit', () => {
    const banned = (spec: string) => /^(kafkajs|node-rdkafka)(\/|$)/.test(spec) || spec.startsWith('@ksched/') || /testkit/.test(spec);
    const offenders = files.flatMap((f) =>
      specifiers(f.text)
        .filter(banned)
        .map((spec) => `${f.name}: ${spec}`),
    );
    expect(offenders).toEqual([]);
  });

  it('imports only relative modules, node: built-ins and zod', () => {
    const offenders = files.flatMap((f) =>
      specifiers(f.text)
        .filter((spec) => !spec.startsWith('./') && !spec.startsWith('../') && !spec.startsWith('node:') && spec !== 'zod')
        .map((spec) => `${f.name}: ${spec}`),
    );
    expect(offenders).toEqual([]);
  });

  // The globals, bare or through globalThis/window. A member call on something else
  // (`this.#clock.setTimeout(...)`, the injected Clock port) is what core should do, so it passes.
  const globalTime = [
    /\bDate\.now\b/,
    /\bnew\s+Date\s*\(/,
    /\bperformance\.now\b/,
    /(?:^|[^.\w$#]|\b(?:globalThis|window|global)\.)setTimeout\b/m,
    /(?:^|[^.\w$#]|\b(?:globalThis|window|global)\.)setInterval\b/m,
  ];

  it('the global-time scanner sees what it must', () => {
    const hits = (text: string) => globalTime.filter((re) => re.test(text)).length;
    for (const bad of [
      'Date.now()',
      'new Date(0)',
      'performance.now()',
      'setTimeout(f, 1)',
      'globalThis.setTimeout(f)',
      ' setInterval(f)',
      '// uses setTimeout',
    ]) {
      expect(hits(bad)).toBe(1);
    }
    for (const good of ['this.#clock.setTimeout(f, 1)', 'clock.setInterval', 'options.clock.now()', 'at instanceof Date']) {
      expect(hits(good)).toBe(0);
    }
  });

  it('reads global time only in ports/clock.ts (comments count too)', () => {
    const offenders = files
      .filter((f) => f.name !== 'ports/clock.ts')
      .flatMap((f) => globalTime.filter((re) => re.test(f.text)).map((re) => `${f.name}: ${re.source}`));
    expect(offenders).toEqual([]);
  });

  it('has zod as its only dependency', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    expect(Object.keys(pkg.dependencies ?? {})).toEqual(['zod']);
  });
});
