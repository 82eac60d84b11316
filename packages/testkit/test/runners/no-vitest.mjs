// Loaded with `node --import`: makes `vitest` unresolvable for the whole process, as in a project
// that never installed it. Any import of it, direct or through a package, throws.
import { register } from 'node:module';

const hooks = `
export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'vitest' || specifier.startsWith('vitest/')) {
    throw new Error('vitest is not installed here (imported by ' + context.parentURL + ')');
  }
  return nextResolve(specifier, context);
}
`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
