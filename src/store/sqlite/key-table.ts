/**
 * A map from 53-bit id hashes to record seqs in two typed arrays (open
 * addressing, linear probing). A JS Map would hold each entry as separate heap
 * objects, about five times the memory, and the recent level of the id index
 * holds hundreds of thousands of entries.
 */
export class KeyTable {
  private hashes: Float64Array;
  private seqs: Float64Array;
  private mask: number;
  private count = 0;

  constructor(initialCapacity = 1024) {
    let capacity = 16;
    while (capacity < initialCapacity) capacity *= 2;
    this.hashes = new Float64Array(capacity);
    this.seqs = new Float64Array(capacity).fill(EMPTY);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.count;
  }

  /** The seq stored for `hash`, or undefined. */
  get(hash: number): number | undefined {
    for (let slot = this.slotOf(hash); ; slot = (slot + 1) & this.mask) {
      const seq = this.seqs[slot] as number;
      if (seq === EMPTY) return undefined;
      if (this.hashes[slot] === hash) return seq;
    }
  }

  /** Stores `seq` for `hash` unless the hash is already present (the first holder keeps it). */
  setIfAbsent(hash: number, seq: number): void {
    // Half full at most, so probe runs stay short.
    if ((this.count + 1) * 2 > this.hashes.length) this.grow();
    for (let slot = this.slotOf(hash); ; slot = (slot + 1) & this.mask) {
      if (this.seqs[slot] === EMPTY) {
        this.hashes[slot] = hash;
        this.seqs[slot] = seq;
        this.count++;
        return;
      }
      if (this.hashes[slot] === hash) return;
    }
  }

  /** Empties the table, keeping its arrays: tables refilled at a steady rate then allocate nothing. */
  clear(): void {
    if (this.count === 0) return;
    this.seqs.fill(EMPTY);
    this.count = 0;
  }

  /** Calls `visit` for every entry, in no particular order. */
  forEach(visit: (hash: number, seq: number) => void): void {
    for (let slot = 0; slot < this.seqs.length; slot++) {
      const seq = this.seqs[slot] as number;
      if (seq !== EMPTY) visit(this.hashes[slot] as number, seq);
    }
  }

  /** Every hash, in ascending order: the order a merge writes them into the B-tree. */
  sortedHashes(): Float64Array {
    const out = new Float64Array(this.count);
    let n = 0;
    for (let slot = 0; slot < this.seqs.length; slot++) if (this.seqs[slot] !== EMPTY) out[n++] = this.hashes[slot] as number;
    return out.sort();
  }

  private slotOf(hash: number): number {
    // ToUint32 keeps the low 32 bits of the (integer) hash exactly.
    return (hash >>> 0) & this.mask;
  }

  private grow(): void {
    const hashes = this.hashes;
    const seqs = this.seqs;
    this.hashes = new Float64Array(hashes.length * 2);
    this.seqs = new Float64Array(seqs.length * 2).fill(EMPTY);
    this.mask = this.hashes.length - 1;
    this.count = 0;
    for (let slot = 0; slot < seqs.length; slot++) if (seqs[slot] !== EMPTY) this.setIfAbsent(hashes[slot] as number, seqs[slot] as number);
  }
}

// Record seqs start at 1, so -1 can mark an empty slot.
const EMPTY = -1;
