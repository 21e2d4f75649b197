import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { payloadCodecsFromEnv } from '../../../src/temporal/data-converter';
import {
  EncryptionPayloadCodec,
  KEY_ID_METADATA,
  PayloadDecryptionError,
} from '../../../src/temporal/encryption-codec';
import {
  clientPayloadKeyEnv,
  newPayloadKeyLine,
  payloadKeysFromEnv,
  type PayloadKey,
} from '../../../src/temporal/payload-keys';
import { UserError } from '../../../src/domain/errors';

const key1: PayloadKey = { id: 'k1', key: randomBytes(32) };
const key2: PayloadKey = { id: 'k2', key: randomBytes(32) };
const secret = { env: { DB_PASSWORD: 'marker-s3cr3t' } };

async function encodeAll(
  codecs: { encode(p: Payload[]): Promise<Payload[]> }[],
  p: Payload,
): Promise<Payload> {
  let out = [p];
  for (const c of codecs) out = await c.encode(out);
  return out[0]!;
}

async function decodeAll(
  codecs: { decode(p: Payload[]): Promise<Payload[]> }[],
  p: Payload,
): Promise<Payload> {
  let out = [p];
  for (const c of [...codecs].reverse()) out = await c.decode(out);
  return out[0]!;
}

describe('encryption payload codec', () => {
  it('round-trips a payload and leaves no plaintext in the encoded bytes', async () => {
    const codec = new EncryptionPayloadCodec([key1]);
    const p = defaultPayloadConverter.toPayload(secret);
    const [encoded] = await codec.encode([p]);
    expect(Buffer.from(encoded!.data!).toString('latin1')).not.toContain('marker-s3cr3t');
    expect(new TextDecoder().decode(encoded!.metadata![KEY_ID_METADATA])).toBe('k1');
    const [decoded] = await codec.decode([encoded!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(secret);
  });

  it('encrypts with the newest key and still decrypts what older keys wrote', async () => {
    const [old] = await new EncryptionPayloadCodec([key1]).encode([
      defaultPayloadConverter.toPayload(secret),
    ]);
    const rotated = new EncryptionPayloadCodec([key1, key2]);
    const [fresh] = await rotated.encode([defaultPayloadConverter.toPayload(secret)]);
    expect(new TextDecoder().decode(fresh!.metadata![KEY_ID_METADATA])).toBe('k2');
    const decoded = await rotated.decode([old!, fresh!]);
    expect(decoded.map((d) => defaultPayloadConverter.fromPayload(d))).toEqual([secret, secret]);
  });

  it('names the unknown key id, and never a key, when it cannot decrypt', async () => {
    const [encoded] = await new EncryptionPayloadCodec([key2]).encode([defaultPayloadConverter.toPayload(1)]);
    const err = await new EncryptionPayloadCodec([key1]).decode([encoded!]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PayloadDecryptionError);
    expect((err as Error).message).toContain('"k2"');
    expect((err as Error).message).not.toContain(key1.key.toString('base64'));
  });

  it('rejects altered ciphertext and a relabelled key id', async () => {
    const codec = new EncryptionPayloadCodec([key1, key2]);
    const [encoded] = await codec.encode([defaultPayloadConverter.toPayload(secret)]);
    const flipped = Buffer.from(encoded!.data!);
    flipped[20] = flipped[20]! ^ 1;
    await expect(codec.decode([{ ...encoded!, data: flipped }])).rejects.toThrow(/failed authentication/);
    const relabelled = {
      ...encoded!,
      metadata: { ...encoded!.metadata, [KEY_ID_METADATA]: Buffer.from('k1') },
    };
    await expect(codec.decode([relabelled])).rejects.toThrow(/key id "k1" failed authentication/);
  });

  it('passes through payloads it did not encrypt', async () => {
    const p = defaultPayloadConverter.toPayload('plain');
    expect(await new EncryptionPayloadCodec([key1]).decode([p])).toEqual([p]);
  });

  it('composes with gzip: large payloads are compressed, then encrypted', async () => {
    const env = { CONVERGE_PAYLOAD_KEYS: `k1:${key1.key.toString('base64')}` };
    const codecs = payloadCodecsFromEnv(env);
    expect(codecs).toHaveLength(2);
    const big = Array.from({ length: 5000 }, (_, i) => ({ id: `server-${i}`, deployment: 'web' }));
    const p = defaultPayloadConverter.toPayload(big);
    const encoded = await encodeAll(codecs, p);
    expect(encoded.data!.length).toBeLessThan(p.data!.length / 5);
    expect(defaultPayloadConverter.fromPayload(await decodeAll(codecs, encoded))).toEqual(big);
  });
});

describe('payload keys from the environment', () => {
  it('is off (gzip only) when no key is configured', () => {
    expect(payloadKeysFromEnv({})).toEqual([]);
    expect(payloadCodecsFromEnv({})).toHaveLength(1);
  });

  it('reads the variable and the key file, newest last', () => {
    const dir = mkdtempSync(join(tmpdir(), 'converge-keys-'));
    const file = join(dir, 'keys');
    writeFileSync(file, `# rotated 2026-12\nk1:${key1.key.toString('base64')}\n\n`);
    const keys = payloadKeysFromEnv({
      CONVERGE_PAYLOAD_KEY_FILE: file,
      CONVERGE_PAYLOAD_KEYS: `k2:${key2.key.toString('base64')}`,
    });
    expect(keys.map((k) => k.id)).toEqual(['k1', 'k2']);
    expect(keys[0]!.key.equals(key1.key)).toBe(true);
  });

  it('names the bad entry, never its key material', () => {
    const short = randomBytes(16).toString('base64');
    const err = (() => {
      try {
        payloadKeysFromEnv({ CONVERGE_PAYLOAD_KEYS: `k1:${key1.key.toString('base64')},k2:${short}` });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/CONVERGE_PAYLOAD_KEYS entry 2: key "k2" must be 32 bytes/);
    expect((err as Error).message).not.toContain(short);
    expect(() => payloadKeysFromEnv({ CONVERGE_PAYLOAD_KEYS: 'nocolon' })).toThrow(
      /entry 1: expected id:base64key/,
    );
    const dup = `k1:${key1.key.toString('base64')},k1:${key2.key.toString('base64')}`;
    expect(() => payloadKeysFromEnv({ CONVERGE_PAYLOAD_KEYS: dup })).toThrow(/"k1" is configured twice/);
    expect(() => payloadKeysFromEnv({ CONVERGE_PAYLOAD_KEY_FILE: '/nonexistent/keys' })).toThrow(/ENOENT/);
  });
});

describe("the CLI's payload keys", () => {
  const devDir = mkdtempSync(join(tmpdir(), 'converge-dev-keys-'));
  const devFile = join(devDir, 'payload.keys');
  writeFileSync(devFile, `dev-1:${randomBytes(32).toString('base64')}\n`);
  const emptyDir = mkdtempSync(join(tmpdir(), 'converge-no-dev-keys-'));

  it("falls back to the dev stack's key file only when neither variable is set", () => {
    const dev = clientPayloadKeyEnv({ CONVERGE_DEV_DIR: devDir });
    expect(dev.CONVERGE_PAYLOAD_KEY_FILE).toBe(devFile);
    expect(payloadKeysFromEnv(dev).map((k) => k.id)).toEqual(['dev-1']);

    const own = { CONVERGE_DEV_DIR: devDir, CONVERGE_PAYLOAD_KEYS: `k1:${key1.key.toString('base64')}` };
    expect(payloadKeysFromEnv(clientPayloadKeyEnv(own)).map((k) => k.id)).toEqual(['k1']);
    // Set but empty: encryption off on purpose, no fallback.
    expect(
      payloadKeysFromEnv(clientPayloadKeyEnv({ CONVERGE_DEV_DIR: devDir, CONVERGE_PAYLOAD_KEY_FILE: '' })),
    ).toEqual([]);
    expect(payloadKeysFromEnv(clientPayloadKeyEnv({ CONVERGE_DEV_DIR: emptyDir }))).toEqual([]);
  });
});

describe('newPayloadKeyLine', () => {
  it('writes a line the key reader takes: the id and 32 random bytes, different each time', () => {
    const [a, b] = [newPayloadKeyLine('dev-1'), newPayloadKeyLine('dev-1')];
    expect(a).not.toBe(b);
    const [key] = payloadKeysFromEnv({ CONVERGE_PAYLOAD_KEYS: a });
    expect(key?.id).toBe('dev-1');
    expect(key?.key).toHaveLength(32);
  });
});
