// The secret that signs callbacks, from the worker's environment (never from a manifest, a workflow
// input or history, and never in a log line or an error: only its source is ever named).
import { inspect } from 'node:util';
import { UserError } from '../domain/errors';
import { readSettingFile } from '../setting-file';

export const SECRET_VARIABLE = 'CONVERGE_CALLBACK_SECRET';
export const SECRET_FILE_VARIABLE = 'CONVERGE_CALLBACK_SECRET_FILE';

/** Shorter secrets are guessable; `openssl rand -hex 32` gives 64 characters. */
const MIN_LENGTH = 32;

/** The secret's bytes, hidden from JSON, `console.log` and string conversion. */
export class CallbackSecret {
  readonly #bytes: Buffer;
  constructor(text: string) {
    this.#bytes = Buffer.from(text, 'utf8');
  }
  get bytes(): Buffer {
    return this.#bytes;
  }
  toJSON(): string {
    return '[callback secret]';
  }
  toString(): string {
    return '[callback secret]';
  }
  [inspect.custom](): string {
    return '[callback secret]';
  }
}

/**
 * CONVERGE_CALLBACK_SECRET, else the first line of the file CONVERGE_CALLBACK_SECRET_FILE names, else
 * null: then callbacks wait (nothing is sent unsigned) and the outbox's status says why.
 */
export function callbackSecretFromEnv(env: Record<string, string | undefined>): CallbackSecret | null {
  const inline = env[SECRET_VARIABLE]?.trim();
  if (inline) return checked(inline, SECRET_VARIABLE);
  const file = env[SECRET_FILE_VARIABLE]?.trim();
  if (!file) return null;
  const text = readSettingFile(SECRET_FILE_VARIABLE, file);
  return checked(text.split('\n')[0]?.trim() ?? '', `${SECRET_FILE_VARIABLE} ${file}`);
}

function checked(secret: string, where: string): CallbackSecret {
  if (secret.length < MIN_LENGTH) {
    throw new UserError(
      `${where}: the callback secret must be at least ${MIN_LENGTH} characters (e.g. \`openssl rand -hex 32\`)`,
    );
  }
  return new CallbackSecret(secret);
}
