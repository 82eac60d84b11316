import type { z } from 'zod';
import type { Violation } from '../errors.js';

/** Maps zod issues to ksched violations: dotted field path, a short rule name and the message. */
export function toViolations(error: z.ZodError, prefix?: string): Violation[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    const field = [prefix, path].filter((p) => p !== undefined && p !== '').join('.') || (prefix ?? '(root)');
    let rule: string = issue.code;
    if (issue.code === 'invalid_type' && issue.input === undefined) rule = 'required';
    else if (issue.code === 'too_small') rule = 'min';
    else if (issue.code === 'too_big') rule = 'max';
    else if (issue.code === 'invalid_format') rule = 'format';
    else if (issue.code === 'custom') rule = String((issue.params as { rule?: string } | undefined)?.rule ?? 'custom');
    return { field, rule, message: issue.message };
  });
}
