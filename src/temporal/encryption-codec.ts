// Encrypts every payload with AES-256-GCM, so Temporal's history holds only ciphertext: a manifest's
// `env` and everything else the workflows carry are readable only with a configured key.
// Runs outside the workflow sandbox (client, worker, codec server), so node:crypto is fine here.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
// @temporalio/proto is CommonJS: Node's ESM loader sees only its default export.
import proto from '@temporalio/proto';
import type { PayloadKey } from './payload-keys';

const ProtoPayload = proto.temporal.api.common.v1.Payload;

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A payload this process cannot decrypt: unknown key id, or ciphertext that fails authentication. */
export class PayloadDecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadDecryptionError';
  }
}

export class EncryptionPayloadCodec implements PayloadCodec {
  private readonly byId: ReadonlyMap<string, Buffer>;
  private readonly current: PayloadKey;

  /** `keys` oldest first: the last one encrypts, any of them decrypts. */
  constructor(keys: readonly PayloadKey[]) {
    const newest = keys[keys.length - 1];
    if (newest === undefined) throw new Error('EncryptionPayloadCodec needs at least one key');
    this.current = newest;
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  // Through a promise's executor, so a failure is a rejected promise rather than a synchronous throw.
  encode(payloads: Payload[]): Promise<Payload[]> {
    return new Promise((resolve) => resolve(payloads.map((p) => this.encrypt(p))));
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return new Promise((resolve) => resolve(payloads.map((p) => this.decrypt(p))));
  }

  private encrypt(p: Payload): Payload {
    const { id, key } = this.current;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, key, iv);
    // The key id is authenticated too: a payload relabelled with another id fails to decrypt.
    cipher.setAAD(Buffer.from(id, 'utf8'));
    const sealed = Buffer.concat([cipher.update(ProtoPayload.encode(p).finish()), cipher.final()]);
    return {
      metadata: {
        [METADATA_ENCODING_KEY]: new TextEncoder().encode(ENCRYPTED_ENCODING),
        [KEY_ID_METADATA]: new TextEncoder().encode(id),
      },
      data: Buffer.concat([iv, sealed, cipher.getAuthTag()]),
    };
  }

  private decrypt(p: Payload): Payload {
    const encoding = p.metadata?.[METADATA_ENCODING_KEY];
    if (!encoding || new TextDecoder().decode(encoding) !== ENCRYPTED_ENCODING) return p;
    const rawId = p.metadata?.[KEY_ID_METADATA];
    const id = rawId ? new TextDecoder().decode(rawId) : '';
    const key = this.byId.get(id);
    if (key === undefined) {
      throw new PayloadDecryptionError(
        `payload encrypted with key id "${id}", which is not configured here ` +
          `(configured: ${[...this.byId.keys()].map((k) => `"${k}"`).join(', ')}; ` +
          'set CONVERGE_PAYLOAD_KEYS or CONVERGE_PAYLOAD_KEY_FILE)',
      );
    }
    const data = p.data ?? new Uint8Array();
    if (data.length < IV_BYTES + TAG_BYTES) {
      throw new PayloadDecryptionError(`payload encrypted with key id "${id}" is truncated`);
    }
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const decipher = createDecipheriv(ALGORITHM, key, buf.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(id, 'utf8'));
    decipher.setAuthTag(buf.subarray(buf.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([
        decipher.update(buf.subarray(IV_BYTES, buf.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      throw new PayloadDecryptionError(
        `payload encrypted with key id "${id}" failed authentication (altered, or a different key under that id)`,
      );
    }
    return ProtoPayload.decode(plain);
  }
}
