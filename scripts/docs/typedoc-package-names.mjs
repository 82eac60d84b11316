// TypeDoc plugin for the API reference (typedoc.json): names each entry point's module after the
// package export it is (`@ksched/core`, `@ksched/core/adapter`, ...) instead of its path
// (`packages/core/src/adapter`), from the `@ksched/source` condition of the package's `exports`.
// It warns about a published export whose source is not among typedoc.json's entry points.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Converter, ReflectionKind } from 'typedoc';

/** `packages/core/src/adapter/index.ts` → `packages/core/src/adapter` (TypeDoc's module naming). */
const moduleName = (path) => path.replace(/(\/index)?(\.d)?\.([cm][tj]s|[tj]sx?)$/, '');

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    const root = app.options.getValue('displayBasePath') || process.cwd();
    const modules = context.project.getChildrenByKind(ReflectionKind.Module);
    const named = new Set();
    for (const folder of new Set(modules.map((m) => m.name.replace(/\/src(\/.*)?$/, '')))) {
      const pkg = JSON.parse(readFileSync(join(root, folder, 'package.json'), 'utf8'));
      for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
        const source = target?.['@ksched/source'];
        if (typeof source !== 'string') continue;
        const expected = moduleName(join(folder, source));
        const module = modules.find((m) => m.name === expected);
        if (!module) {
          app.logger.warn(`${pkg.name}: export "${subpath}" (${source}) is not an entry point in typedoc.json`);
          continue;
        }
        module.name = subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`;
        named.add(module);
      }
    }
    for (const m of modules) {
      if (!named.has(m)) app.logger.warn(`${m.name}: not a package export (no @ksched/source condition in its package.json)`);
    }
  });
}
