// Prints the folder (relative to the repository) of every published workspace package, one a line:
// every workspace package that is not `private`, dependencies before their dependents (the order in
// which to publish them).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const listed = JSON.parse(execFileSync('pnpm', ['ls', '-r', '--depth', '-1', '--json'], { cwd: root, encoding: 'utf8' }));
const published = new Map(
  listed.filter((p) => !p.private).map((p) => [p.name, JSON.parse(readFileSync(join(p.path, 'package.json'), 'utf8'))]),
);
const paths = new Map(listed.map((p) => [p.name, p.path]));

const done = new Set();
const visit = (name) => {
  if (done.has(name)) return;
  done.add(name);
  const pkg = published.get(name);
  for (const deps of [pkg.dependencies, pkg.peerDependencies])
    for (const dep of Object.keys(deps ?? {})) if (published.has(dep)) visit(dep);
  console.log(relative(root, paths.get(name)));
};
for (const name of [...published.keys()].sort()) visit(name);
