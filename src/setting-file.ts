// A file a setting names (CONVERGE_..._FILE): read, or a user error that names the variable, the path
// and why, never a stack trace. Shared by every layer that takes a secret or key from a file.
import { readFileSync } from 'node:fs';
import { UserError } from './domain/errors';

export function readSettingFile(variable: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new UserError(`${variable}: cannot read ${path} (${code})`);
  }
}
