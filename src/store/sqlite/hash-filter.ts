/**
 * A Bloom filter over 53-bit id hashes: "certainly absent" or "maybe present".
 * Most ids a batch brings are new; a "certainly absent" spares the B-tree search
 * in record_keys (measured: about 0.9 µs a record, a seventh of the write path).
 * A false "maybe" (about 1 %) only costs that search.
 */
export class HashFilter {
  private readonly words: Int32Array;
  private readonly mask: number;
  private added = 0;
  /** Keys it holds before false positives climb past about 1 %. */
  readonly capacity: number;

  constructor(capacity: number) {
    let bits = MIN_BITS;
    while (bits < capacity * BITS_PER_KEY && bits < MAX_BITS) bits *= 2;
    this.words = new Int32Array(bits / 32);
    this.mask = bits - 1;
    this.capacity = bits / BITS_PER_KEY;
  }

  get size(): number {
    return this.added;
  }

  add(hash: number): void {
    const low = hash >>> 0;
    const step = stepOf(hash, low);
    for (let i = 0; i < PROBES; i++) {
      const bit = ((low + Math.imul(i, step)) >>> 0) & this.mask;
      this.words[bit >>> 5] = (this.words[bit >>> 5] as number) | (1 << (bit & 31));
    }
    this.added++;
  }

  mightContain(hash: number): boolean {
    const low = hash >>> 0;
    const step = stepOf(hash, low);
    for (let i = 0; i < PROBES; i++) {
      const bit = ((low + Math.imul(i, step)) >>> 0) & this.mask;
      if (((this.words[bit >>> 5] as number) & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}

// 10 bits and 5 probes per key: about 0.9 % false positives at capacity.
const BITS_PER_KEY = 10;
const PROBES = 5;
const MIN_BITS = 2 ** 10;
const MAX_BITS = 2 ** 30;

// The probe step mixes the hash's high 21 bits with its low ones; odd, so probes never repeat a bit.
function stepOf(hash: number, low: number): number {
  const high = Math.floor(hash / 2 ** 32) >>> 0;
  return Math.imul(high ^ (low >>> 15), 0x9e3779b1) | 1;
}
