/**
 * A 53-bit hash of a record id (two 32-bit FNV-1a style lanes), exact in a JS
 * number and in a SQLite INTEGER. Not cryptographic: equal hashes are always
 * checked against the stored id.
 */
export function idHash(id: string): number {
  let a = 0x811c9dc5 | 0;
  let b = 0x1b873593 | 0;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  // 32 bits of one lane and 21 of the other: 2^53 distinct values.
  return (a >>> 0) * 0x200000 + ((b >>> 0) & 0x1fffff);
}

/** The idHash of each record's id, in order. */
export function idHashes(records: readonly { readonly id: string }[]): Float64Array {
  const hashes = new Float64Array(records.length);
  for (let i = 0; i < records.length; i++) hashes[i] = idHash((records[i] as { readonly id: string }).id);
  return hashes;
}
