import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { callbackSecretFromEnv, signCallback, verifyCallback } from '../../../src/activities';

const SECRET = 'k-0123456789abcdef0123456789abcdef';
const bytes = Buffer.from(SECRET);

describe('callback signature', () => {
  it('is HMAC-SHA256 over "<timestamp>.<body>", hex, as openssl computes it', () => {
    // printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac "$SECRET"
    expect(signCallback(bytes, 1_700_000_000, '{"a":1}')).toBe(
      'sha256=b6b0c20c4315494756198fba40a0496a47443af3686c520596fd46c3a3146aca',
    );
  });

  it('verifies with the same secret, body and a fresh timestamp only', () => {
    const signature = signCallback(bytes, 1000, 'body');
    expect(verifyCallback(bytes, { timestamp: '1000', signature }, 'body', 1010)).toBe(true);
    expect(verifyCallback(bytes, { timestamp: '1000', signature }, 'bodY', 1010)).toBe(false);
    expect(verifyCallback(Buffer.from('other'), { timestamp: '1000', signature }, 'body', 1010)).toBe(false);
    expect(verifyCallback(bytes, { timestamp: '1001', signature }, 'body', 1010)).toBe(false);
    expect(verifyCallback(bytes, { timestamp: '1000', signature }, 'body', 1000 + 301)).toBe(false);
    expect(verifyCallback(bytes, { timestamp: undefined, signature }, 'body', 1010)).toBe(false);
  });
});

describe('callback secret from the environment', () => {
  it('is absent when neither variable is set', () => {
    expect(callbackSecretFromEnv({})).toBeNull();
  });

  it('comes from the variable, else the file; never shows itself', () => {
    const secret = callbackSecretFromEnv({ CONVERGE_CALLBACK_SECRET: SECRET });
    expect(secret?.bytes.toString()).toBe(SECRET);
    for (const shown of [JSON.stringify({ secret }), String(secret), inspect(secret), `${String(secret)}`]) {
      expect(shown).not.toContain(SECRET);
    }
    const dir = mkdtempSync(join(tmpdir(), 'cb-secret-'));
    writeFileSync(join(dir, 'secret'), `${SECRET}\n`);
    expect(
      callbackSecretFromEnv({ CONVERGE_CALLBACK_SECRET_FILE: join(dir, 'secret') })?.bytes.toString(),
    ).toBe(SECRET);
  });

  it('refuses a short secret or an unreadable file, naming the variable and not the secret', () => {
    expect(() => callbackSecretFromEnv({ CONVERGE_CALLBACK_SECRET: 'short-secret-value' })).toThrow(
      /^CONVERGE_CALLBACK_SECRET: the callback secret must be at least 32 characters/,
    );
    try {
      callbackSecretFromEnv({ CONVERGE_CALLBACK_SECRET: 'short-secret-value' });
    } catch (err) {
      expect(String(err)).not.toContain('short-secret-value');
    }
    expect(() => callbackSecretFromEnv({ CONVERGE_CALLBACK_SECRET_FILE: '/nonexistent/secret' })).toThrow(
      'CONVERGE_CALLBACK_SECRET_FILE: cannot read /nonexistent/secret (ENOENT)',
    );
  });
});
