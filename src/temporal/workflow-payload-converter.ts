// The payload converter bundled into the workflow code (`payloadConverterPath` of every workflow
// bundle: src/workers/bundle.ts, scripts/build.mjs). It is the SDK's default (undefined, binary, JSON)
// with one change: JSON text goes to and from UTF-8 through the TextEncoder and TextDecoder the
// sandbox is given (Node's), not through the SDK's pure-JS encoder. A 5,000-instance observation is
// 6 MB of JSON, decoded in the workflow twice per operation, and the operation's 2.6 MB result is
// encoded twice and decoded twice by the entity: about 15 ms per MB in the pure-JS coder.
//
// The bytes are the same: JSON.stringify escapes lone surrogates, so its text is well-formed UTF-16,
// which both coders write alike; so histories written before replay, and the worker's main thread
// and clients, which keep the SDK's default converter, read and write the same payloads.
import {
  BinaryPayloadConverter,
  CompositePayloadConverter,
  JsonPayloadConverter,
  METADATA_ENCODING_KEY,
  UndefinedPayloadConverter,
  ValueError,
  encodingKeys,
  type Payload,
} from '@temporalio/common';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class NativeJsonPayloadConverter extends JsonPayloadConverter {
  override toPayload<T>(value: T): Payload | undefined {
    if (value === undefined) return undefined;
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch {
      return undefined;
    }
    // A function or symbol: not JSON; another converter (none) must take it, as with the SDK's.
    if (json === undefined) return undefined;
    const bytes = encoder.encode(json);
    return {
      metadata: { [METADATA_ENCODING_KEY]: encodingKeys.METADATA_ENCODING_JSON },
      // A view made in this context: the encoder's array comes from the worker's own realm.
      data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    };
  }

  override fromPayload<T>(content: Payload): T {
    if (content.data === undefined || content.data === null) {
      throw new ValueError('Got payload with no data');
    }
    return JSON.parse(decoder.decode(content.data)) as T;
  }
}

export const payloadConverter = new CompositePayloadConverter(
  new UndefinedPayloadConverter(),
  new BinaryPayloadConverter(),
  new NativeJsonPayloadConverter(),
);
