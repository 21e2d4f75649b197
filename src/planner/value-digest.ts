// A 128-bit digest of a JSON-like value for change detection (the watch's projection digest), not for
// security. Why not sha256 over canonical JSON: inside Temporal's workflow sandbox, @noble's sha256
// and the sandbox's pure-JS TextEncoder made a 5,000-row projection cost several hundred ms of the
// deployment entity's workflow task at every operation's end. This walks the value once and mixes
// UTF-16 code units with integer arithmetic only (no strings built, no typed arrays). Pure.
//
// Equal values give equal digests whatever their objects' key order, and `undefined` members count
// as absent (as canonicalJson treats them); every value is fed with a type tag and strings and
// containers with their length, so ["a","b"] and ["ab"] differ.

// Globals read once: in the sandbox's vm context every global lookup (Math, Array, Object, String)
// goes through the context's interceptor, which in this loop cost more than the arithmetic.
const imul = Math.imul;
const isArray = Array.isArray;
const keysOf = Object.keys;

const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93;

/** Four 32-bit lanes, each a MurmurHash3-style mixer with its own constants, joined at the end. */
class Mixer {
  private h1 = 0x9747b28c;
  private h2 = 0x85ebca6b;
  private h3 = 0xc2b2ae35;
  private h4 = 0x27d4eb2f;
  private count = 0;

  word(w: number): void {
    this.count++;
    let k = imul(w, C1);
    k = (k << 15) | (k >>> 17);
    this.h1 ^= imul(k, C2);
    this.h1 = imul((this.h1 << 19) | (this.h1 >>> 13), 5) + 0x561ccd1b;
    k = imul(w, C2);
    k = (k << 16) | (k >>> 16);
    this.h2 ^= imul(k, C3);
    this.h2 = imul((this.h2 << 17) | (this.h2 >>> 15), 5) + 0x0bcaa747;
    k = imul(w, C3);
    k = (k << 17) | (k >>> 15);
    this.h3 ^= imul(k, C4);
    this.h3 = imul((this.h3 << 15) | (this.h3 >>> 17), 5) + 0x96cd1c35;
    k = imul(w, C4);
    k = (k << 18) | (k >>> 14);
    this.h4 ^= imul(k, C1);
    this.h4 = imul((this.h4 << 13) | (this.h4 >>> 19), 5) + 0x32ac3b17;
  }

  /** A string's length, then its code units two to a word. */
  text(s: string): void {
    const n = s.length;
    this.word(n);
    let i = 0;
    for (; i + 1 < n; i += 2) this.word(s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16));
    if (i < n) this.word(s.charCodeAt(i) | 0x10000);
  }

  hex(): string {
    let { h1, h2, h3, h4 } = this;
    h1 ^= this.count;
    h2 ^= this.count;
    h3 ^= this.count;
    h4 ^= this.count;
    h1 = (h1 + h2 + h3 + h4) | 0;
    h2 = (h2 + h1) | 0;
    h3 = (h3 + h1) | 0;
    h4 = (h4 + h1) | 0;
    h1 = avalanche(h1);
    h2 = avalanche(h2);
    h3 = avalanche(h3);
    h4 = avalanche(h4);
    h1 = (h1 + h2 + h3 + h4) | 0;
    h2 = (h2 + h1) | 0;
    h3 = (h3 + h1) | 0;
    h4 = (h4 + h1) | 0;
    return [h1, h2, h3, h4].map((h) => (h >>> 0).toString(16).padStart(8, '0')).join('');
  }
}

function avalanche(h: number): number {
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

const TAG = { null: 1, false: 2, true: 3, number: 4, string: 5, array: 6, object: 7 } as const;

/**
 * 32 hex digits. Worked example: `{ b: 1, a: [ 'x' ] }` and `{ a: [ 'x' ], b: 1, c: undefined }` give
 * the same digest; `{ a: [ 'x' ], b: 2 }` another.
 */
export function valueDigest(value: unknown): string {
  const m = new Mixer();
  feed(value, m, { keys: [], sorted: [] });
  return m.hex();
}

/** The last key list seen and its sorted form: rows of one table share theirs, so each sorts once. */
interface KeyOrder {
  keys: string[];
  sorted: string[];
}

function feed(value: unknown, m: Mixer, order: KeyOrder): void {
  if (value === null || value === undefined) {
    m.word(TAG.null);
  } else if (typeof value === 'string') {
    m.word(TAG.string);
    m.text(value);
  } else if (typeof value === 'number') {
    m.word(TAG.number);
    m.text(`${value}`);
  } else if (typeof value === 'boolean') {
    m.word(value ? TAG.true : TAG.false);
  } else if (isArray(value)) {
    m.word(TAG.array);
    m.word(value.length);
    for (const item of value as unknown[]) feed(item, m, order);
  } else if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const sorted = sortedKeys(keysOf(record), order);
    let present = 0;
    for (const k of sorted) if (record[k] !== undefined) present++;
    m.word(TAG.object);
    m.word(present);
    for (const k of sorted) {
      const v = record[k];
      if (v === undefined) continue;
      m.text(k);
      feed(v, m, order);
    }
  } else {
    // Functions, symbols, bigints: not JSON; as JSON.stringify drops them, they count as null.
    m.word(TAG.null);
  }
}

function sortedKeys(keys: string[], order: KeyOrder): string[] {
  const last = order.keys;
  if (keys.length === last.length && keys.every((k, i) => k === last[i])) return order.sorted;
  const sorted = [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  order.keys = keys;
  order.sorted = sorted;
  return sorted;
}
