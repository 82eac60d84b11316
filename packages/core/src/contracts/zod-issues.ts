import type { z } from 'zod';
import type { Violation } from '../errors.js';

const absent = Symbol('absent');

/** The value at `path` inside `root`, or `absent` when a step is missing. */
function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value: unknown = root;
  for (const step of path) {
    if (typeof value !== 'object' || value === null || !(step in value)) return absent;
    value = (value as Record<PropertyKey, unknown>)[step];
  }
  return value;
}

/**
 * Maps zod issues to ksched violations: dotted field path, a short rule name and the message.
 *
 * @param input - the value that was parsed. zod 4 leaves `input` out of its issues, so the
 *   difference between a missing field (`required`) and a present one of the wrong type
 *   (`type`, `integer`) is read from here.
 */
export function toViolations(error: z.ZodError, prefix?: string, input?: unknown): Violation[] {
  const fieldOf = (path: readonly PropertyKey[]) =>
    [prefix, path.map(String).join('.')].filter((p) => p !== undefined && p !== '').join('.') || (prefix ?? '(root)');
  return error.issues.flatMap((issue): Violation[] => {
    if (issue.code === 'unrecognized_keys') {
      // One violation per unknown name, so `field` names the offending setting itself.
      return issue.keys.map((key) => ({ field: fieldOf([...issue.path, key]), rule: 'unknown', message: issue.message }));
    }
    let rule: string = issue.code;
    if (issue.code === 'invalid_type' || issue.code === 'invalid_union') {
      const value = issue.input !== undefined ? issue.input : valueAt(input, issue.path);
      if (value === undefined || value === absent) rule = 'required';
      else if (issue.code === 'invalid_type' && issue.expected === 'int') rule = 'integer';
      else rule = 'type';
    } else if (issue.code === 'too_small') rule = 'min';
    else if (issue.code === 'too_big') rule = 'max';
    else if (issue.code === 'invalid_format') rule = 'format';
    else if (issue.code === 'custom') rule = String((issue.params as { rule?: string } | undefined)?.rule ?? 'custom');
    return [{ field: fieldOf(issue.path), rule, message: issue.message }];
  });
}
