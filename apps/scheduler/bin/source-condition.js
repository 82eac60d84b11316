// Module resolve hook (node:module register): adds the `@ksched/source` export condition, so that
// the workspace packages resolve to their src/*.ts (compiled on the fly by tsx) and the CLI runs
// from a fresh clone without a build step.
export async function resolve(specifier, context, nextResolve) {
  const conditions = context.conditions.includes('@ksched/source') ? context.conditions : [...context.conditions, '@ksched/source'];
  return nextResolve(specifier, { ...context, conditions });
}
