#!/usr/bin/env node
/**
 * Structure measures of issue 12, printed as a table:
 * - lines the two adapter packages share (src + test; code lines of 25+ characters after removing
 *   comments and folding white space; the client names normalised; a multiset intersection, so a
 *   line written three times in one package and once in the other counts once);
 * - the longest functions in the TypeScript sources (packages/, apps/, bench/, chaos/), by lines.
 *
 * Usage: node scripts/measure/adapter-overlap.mjs [--limit 150] [--show]
 *   --show lists the shared lines; exits 1 when a function is over --limit lines.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../..', import.meta.url));
const args = process.argv.slice(2);
const show = args.includes('--show');
const limitAt = args.indexOf('--limit');
const limit = limitAt >= 0 ? Number(args[limitAt + 1]) : 150;

function walk(dir) {
  let out = [];
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    if (name === 'node_modules' || name === 'dist') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(walk(path));
    else if (/\.(ts|mts|cts)$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/**
 * Code lines of a file: comments removed, white space folded. Comments are found from the parsed
 * file (the comment ranges before and after every node), so template literals and regular
 * expressions cannot be mistaken for them.
 */
function codeLines(text, file = 'file.ts') {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const ranges = new Map();
  const collect = (node) => {
    for (const r of [...(ts.getLeadingCommentRanges(text, node.pos) ?? []), ...(ts.getTrailingCommentRanges(text, node.end) ?? [])])
      ranges.set(r.pos, r.end);
    node.getChildren(sf).forEach(collect);
  };
  collect(sf);
  let kept = '';
  let at = 0;
  for (const [pos, end] of [...ranges].sort((x, y) => x[0] - y[0])) {
    if (pos < at) continue;
    // keep the line breaks a block comment spans, so lines stay lines
    kept += text.slice(at, pos) + text.slice(pos, end).replace(/[^\n]/g, '');
    at = end;
  }
  kept += text.slice(at);
  return kept
    .split('\n')
    .map((l) => l.replace(/\s+/g, ' ').trim())
    .filter((l) => l.length >= 25);
}

const CLIENT = /node-rdkafka|librdkafka|rdkafka|rd_kafka|kafkajs|kafka_js/gi;

function packageLines(pkg) {
  const counts = new Map();
  for (const sub of ['src', 'test']) {
    for (const file of walk(join(root, 'packages', pkg, sub))) {
      for (const line of codeLines(readFileSync(file, 'utf8'), file)) {
        const key = line.replace(CLIENT, 'CLIENT');
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
  }
  return counts;
}

const a = packageLines('kafka-adapter-kafkajs');
const b = packageLines('kafka-adapter-rdkafka');
let shared = 0;
const sharedLines = [];
for (const [line, n] of a) {
  const m = Math.min(n, b.get(line) ?? 0);
  if (m > 0) {
    shared += m;
    sharedLines.push([m, line]);
  }
}

function functionLengths() {
  const found = [];
  const dirs = ['packages', 'apps', 'bench', 'chaos', 'tests', 'scripts'].map((d) => join(root, d));
  for (const file of dirs.flatMap(walk)) {
    const text = readFileSync(file, 'utf8');
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const visit = (node) => {
      if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
        const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
        const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
        let name = node.name?.getText(sf);
        if (name === undefined && ts.isVariableDeclaration(node.parent)) name = node.parent.name.getText(sf);
        if (name === undefined && ts.isCallExpression(node.parent)) {
          const first = node.parent.arguments[0];
          name = `${node.parent.expression.getText(sf)}(${first && ts.isStringLiteralLike(first) ? JSON.stringify(first.text) : '…'}) callback`;
        }
        found.push({ lines: end - start + 1, where: `${relative(root, file)}:${start + 1}`, name: name ?? '(anonymous)' });
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return found.sort((x, y) => y.lines - x.lines);
}

const fns = functionLengths();
const over = fns.filter((f) => f.lines > limit);
const sourceFns = fns.filter((f) => !/\/test\//.test(f.where));

console.log('| measure | value |');
console.log('| --- | --- |');
console.log(`| lines shared by the two adapter packages (src + test) | ${shared} |`);
console.log(`| longest source function (lines) | ${sourceFns[0]?.lines ?? 0} (${sourceFns[0]?.name} at ${sourceFns[0]?.where}) |`);
console.log(
  `| functions over ${limit} lines (source / tests, a describe callback counts) | ${over.filter((f) => !/\/test\//.test(f.where)).length} / ${over.filter((f) => /\/test\//.test(f.where)).length} |`,
);
if (show) {
  console.log('\nshared lines (count × line):');
  for (const [n, line] of sharedLines.sort((x, y) => y[0] - x[0])) console.log(`${n} × ${line}`);
}
if (over.length > 0) {
  console.log(`\nover ${limit} lines:`);
  for (const f of over) console.log(`  ${f.lines}  ${f.name}  ${f.where}`);
}
process.exitCode = over.some((f) => !/\/test\//.test(f.where)) ? 1 : 0;
