// Strict input validation: one zod parse per body, and the first problem reported with the field it is about.
import type { z } from 'zod';
import { ApiError } from './errors';

/** `networks[0].subnets[1].gateway`, as a user would write the path. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** The first issue as (field, message); unknown keys name the key itself, not its parent. */
export function firstIssue(error: z.ZodError): { field: string; message: string } {
  // An unknown key usually explains the missing one next to it (a typo), so it is reported first.
  const issue = error.issues.find((i) => i.code === 'unrecognized_keys') ?? error.issues[0];
  if (!issue) return { field: '', message: 'invalid' };
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    return { field: fieldPath([...issue.path, key]), message: 'unknown field' };
  }
  return { field: fieldPath(issue.path), message: issue.message };
}

/** Parses a request body or throws a 400 that names the field; nothing has been stored yet. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const { field, message } = firstIssue(result.error);
  throw new ApiError(400, 'invalid', field === '' ? message : `${field}: ${message}`, field || undefined);
}
