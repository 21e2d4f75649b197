// The keys that encrypt payloads, from the environment of the worker and the CLI (never from a
// manifest, a workflow input or history). Newest last: it encrypts; every key decrypts.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../domain/errors';
import { packageRoot } from '../package-root';
import { readSettingFile } from '../setting-file';

export interface PayloadKey {
  /** Written in each payload's metadata, so a reader knows which key to use; not secret. */
  id: string;
  /** 32 bytes (AES-256). */
  key: Buffer;
}

export const KEYS_VARIABLE = 'CONVERGE_PAYLOAD_KEYS';
export const KEY_FILE_VARIABLE = 'CONVERGE_PAYLOAD_KEY_FILE';

/** The key file `converge dev up` writes into its stack's directory (beside identity.json). */
export const DEV_KEY_FILE_NAME = 'payload.keys';

const KEY_BYTES = 32;

/** A new random key as a key file line (`id:base64`), the format payloadKeysFromEnv reads. */
export function newPayloadKeyLine(id: string): string {
  return `${id}:${randomBytes(KEY_BYTES).toString('base64')}`;
}
const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * The configured keys, oldest first, or [] when none is configured (encryption off).
 * CONVERGE_PAYLOAD_KEYS="id1:base64,id2:base64" or CONVERGE_PAYLOAD_KEY_FILE (one `id:base64` a line,
 * `#` comments); both may be set, the variable's keys then come after the file's.
 */
export function payloadKeysFromEnv(env: Record<string, string | undefined>): PayloadKey[] {
  const keys: PayloadKey[] = [];
  const file = env[KEY_FILE_VARIABLE]?.trim();
  if (file) {
    readSettingFile(KEY_FILE_VARIABLE, file)
      .split('\n')
      .forEach((line, i) => {
        const entry = line.replace(/#.*$/, '').trim();
        if (entry !== '') keys.push(parseKey(entry, `${KEY_FILE_VARIABLE} ${file} line ${i + 1}`));
      });
  }
  const list = env[KEYS_VARIABLE]?.trim();
  if (list) {
    list.split(',').forEach((entry, i) => {
      if (entry.trim() !== '') keys.push(parseKey(entry.trim(), `${KEYS_VARIABLE} entry ${i + 1}`));
    });
  }
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k.id)) throw new UserError(`payload key id "${k.id}" is configured twice`);
    seen.add(k.id);
  }
  return keys;
}

/** `id:base64key`. Errors name where the entry came from and its id, never the key material. */
function parseKey(entry: string, where: string): PayloadKey {
  const colon = entry.indexOf(':');
  if (colon < 0) throw new UserError(`${where}: expected id:base64key`);
  const id = entry.slice(0, colon).trim();
  if (!ID_PATTERN.test(id)) {
    throw new UserError(`${where}: key id must be 1-64 of A-Z a-z 0-9 . _ -`);
  }
  const b64 = entry.slice(colon + 1).trim();
  const key = Buffer.from(b64, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || key.length !== KEY_BYTES) {
    throw new UserError(
      `${where}: key "${id}" must be ${KEY_BYTES} bytes in base64 (e.g. \`openssl rand -base64 32\`)`,
    );
  }
  return { id, key };
}

/**
 * The CLI's key settings: its environment's when either variable is set (even to ''); else the key
 * file of this checkout's dev stack ($CONVERGE_DEV_DIR or .converge/payload.keys) when it exists, so
 * after `converge dev up` the CLI encrypts and decrypts as the stack's worker does with no extra step.
 */
export function clientPayloadKeyEnv(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string | undefined> {
  if (env[KEYS_VARIABLE] !== undefined || env[KEY_FILE_VARIABLE] !== undefined) return env;
  const dev = join(env.CONVERGE_DEV_DIR?.trim() || join(packageRoot(), '.converge'), DEV_KEY_FILE_NAME);
  return existsSync(dev) ? { ...env, [KEY_FILE_VARIABLE]: dev } : env;
}
