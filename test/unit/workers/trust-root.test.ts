// The admin public key from the worker's settings: a bad setting is a user error naming it, never a
// stack trace; an identity file from `converge auth keygen` works as well as the bare key.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../src/domain/errors';
import { trustRootFromEnv } from '../../../src/workers/trust-root';

const KEY = 'ab'.repeat(32);
const dir = mkdtempSync(join(tmpdir(), 'converge-trust-root-'));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('trustRootFromEnv', () => {
  it('is null without a setting (permissions off)', () => {
    expect(trustRootFromEnv({})).toBeNull();
  });

  it('takes the inline key, or a file holding the bare key or an identity', () => {
    expect(trustRootFromEnv({ CONVERGE_ADMIN_PUBLIC_KEY: KEY.toUpperCase() })).toBe(KEY);
    expect(trustRootFromEnv({ CONVERGE_ADMIN_PUBLIC_KEY_FILE: file('bare', `${KEY}\n`) })).toBe(KEY);
    const identity = file('id.json', JSON.stringify({ principal: 'admin', publicKey: KEY }));
    expect(trustRootFromEnv({ CONVERGE_ADMIN_PUBLIC_KEY_FILE: identity })).toBe(KEY);
  });

  it('refuses a file that is not JSON, a short key and an unreadable file as user errors naming the setting', () => {
    for (const env of [
      { CONVERGE_ADMIN_PUBLIC_KEY_FILE: file('broken.json', '{ not json') },
      { CONVERGE_ADMIN_PUBLIC_KEY: 'abc' },
      { CONVERGE_ADMIN_PUBLIC_KEY_FILE: join(dir, 'missing') },
    ]) {
      let error: unknown;
      try {
        trustRootFromEnv(env);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(UserError);
      expect((error as Error).message).toMatch(/^CONVERGE_ADMIN_PUBLIC_KEY/);
    }
  });
});
