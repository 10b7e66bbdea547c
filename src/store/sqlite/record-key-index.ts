import type { Database, Statement, Transaction } from "better-sqlite3";
import { HashFilter } from "./hash-filter.js";
import { idHash } from "./id-hash.js";
import { KeyTable } from "./key-table.js";

/** How the two levels of the id index are sized. */
export interface RecordKeyIndexOptions {
  /**
   * Recent ids kept in memory before they are merged into the table (default 250,000).
   * With a batch of 10,000 on top the level stays under half of a 524,288-slot table
   * (8 MiB); at 262,144 it doubled to 16 MiB just before each merge.
   */
  readonly mergeAt?: number;
  /**
   * Ids written per merge step at least (default 8,192), so no step stalls ingestion
   * for long; a step writes twice what the commits since the last one added when
   * that is more, so a frozen level is merged before the next one fills.
   */
  readonly mergeChunk?: number;
  /** Ids the table's filter has room for before it is first rebuilt larger (default 1,000,000; 2 MiB). */
  readonly filterCapacity?: number;
}

const MERGED_SETTING = "record_keys_merged_seq";
// Keys per INSERT statement when merging: fewer calls into SQLite.
const KEYS_PER_INSERT = 256;

/**
 * The idempotency index (id hash -> record seq) in two levels, like a small LSM tree.
 *
 * Writing each new id into one B-tree at a random place dirties one page per
 * record, and committing those pages is what capped ingestion (about 30k
 * records/s with random UUIDs). Here new ids go to an in-memory level; once it
 * holds `mergeAt` ids it is frozen and written into `record_keys` in ascending
 * hash order, `mergeChunk` ids per transaction, so neighbouring ids share pages.
 *
 * Nothing is lost in a crash: the records table is the source of truth. Every
 * record above the persisted `record_keys_merged_seq` is in the memory levels (or
 * in record_key_collisions), and opening the store reads those records back.
 * Other connections writing to the same file are noticed by `PRAGMA data_version`
 * at the start of each write and their new records read in the same way.
 */
export class RecordKeyIndex {
  private active = new KeyTable();
  private merging: { readonly table: KeyTable; readonly hashes: Float64Array; readonly uptoSeq: number; next: number } | undefined;
  /** The last merged level, emptied and kept to become the next memory level (its arrays are many MiB). */
  private spare: KeyTable | undefined;
  /** Ids added by the open transaction; they reach `active` only once it commits. */
  private pending = new KeyTable();
  private pendingMaxSeq = 0;
  /** Ids committed since the last merge step. */
  private addedSinceStep = 0;
  private knownSeq = 0;
  /** Every hash in record_keys is in it; see HashFilter. */
  private filter: HashFilter;
  private dataVersion: number;
  private readonly mergeAt: number;
  private readonly mergeChunk: number;
  private readonly filterCapacity: number;
  private readonly statements: {
    readonly find: Statement;
    readonly countKeys: Statement;
    readonly allKeys: Statement;
    readonly insert: Statement;
    readonly insertMany: Statement;
    readonly newRecords: Statement;
    readonly collisionSeqs: Statement;
    readonly dataVersion: Statement;
    readonly mergedSeq: Statement;
    readonly setMergedSeq: Statement;
  };
  private readonly mergeTransaction: Transaction<(hashes: Float64Array, from: number, to: number, table: KeyTable, uptoSeq: number | undefined) => void>;

  constructor(db: Database, options: RecordKeyIndexOptions = {}) {
    this.mergeAt = options.mergeAt ?? 250_000;
    this.mergeChunk = options.mergeChunk ?? 8_192;
    this.filterCapacity = options.filterCapacity ?? 1_000_000;
    this.statements = {
      find: db.prepare("SELECT seq FROM record_keys WHERE key_hash = ?").pluck(),
      countKeys: db.prepare("SELECT COUNT(*) FROM record_keys").pluck(),
      allKeys: db.prepare("SELECT key_hash FROM record_keys").pluck(),
      insert: db.prepare("INSERT OR IGNORE INTO record_keys (key_hash, seq) VALUES (?, ?)"),
      insertMany: db.prepare(`INSERT OR IGNORE INTO record_keys (key_hash, seq) VALUES ${"(?, ?), ".repeat(KEYS_PER_INSERT - 1)}(?, ?)`),
      newRecords: db.prepare("SELECT seq, id FROM records WHERE seq > ? ORDER BY seq").raw(),
      collisionSeqs: db.prepare("SELECT seq FROM record_key_collisions WHERE seq > ?").pluck(),
      dataVersion: db.prepare("PRAGMA data_version").pluck(),
      mergedSeq: db.prepare("SELECT CAST(value AS INTEGER) FROM settings WHERE name = ?").pluck(),
      setMergedSeq: db.prepare(
        "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
      ),
    };
    this.mergeTransaction = db.transaction((hashes: Float64Array, from: number, to: number, table: KeyTable, uptoSeq: number | undefined) => {
      // Re-merging after a crash finds some keys already there: OR IGNORE.
      const params: number[] = [];
      let i = from;
      for (; i + KEYS_PER_INSERT <= to; i += KEYS_PER_INSERT) {
        params.length = 0;
        for (let j = i; j < i + KEYS_PER_INSERT; j++) params.push(hashes[j] as number, table.get(hashes[j] as number) as number);
        this.statements.insertMany.run(params);
      }
      for (; i < to; i++) this.statements.insert.run(hashes[i], table.get(hashes[i] as number));
      if (uptoSeq !== undefined) this.statements.setMergedSeq.run(MERGED_SETTING, String(uptoSeq));
    });
    this.filter = this.filterOfTable(0);
    this.dataVersion = this.statements.dataVersion.get() as number;
    this.knownSeq = (this.statements.mergedSeq.get(MERGED_SETTING) as number | undefined) ?? 0;
    this.readNewRecords();
  }

  /** The seq the hash points at, if any level has it. Call inside the write transaction, after `beginWrite`. */
  find(hash: number): number | undefined {
    const inMemory = this.pending.get(hash) ?? this.active.get(hash) ?? this.merging?.table.get(hash);
    if (inMemory !== undefined || !this.filter.mightContain(hash)) return inMemory;
    return this.statements.find.get(hash) as number | undefined;
  }

  /** Starts a write transaction's use of the index: catches up with records other connections committed. */
  beginWrite(): void {
    this.forgetPending();
    const version = this.statements.dataVersion.get() as number;
    if (version !== this.dataVersion) {
      this.dataVersion = version;
      this.readNewRecords();
    }
  }

  /**
   * Notes a record the open transaction stored: under its hash when no level had
   * the hash, or (hash undefined) as a collision kept in record_key_collisions.
   */
  add(hash: number | undefined, seq: number): void {
    if (hash !== undefined) this.pending.setIfAbsent(hash, seq);
    this.pendingMaxSeq = Math.max(this.pendingMaxSeq, seq);
  }

  /** The open transaction committed: its ids join the memory level. */
  committed(): void {
    this.pending.forEach((hash, seq) => this.active.setIfAbsent(hash, seq));
    this.addedSinceStep += this.pending.size;
    this.knownSeq = Math.max(this.knownSeq, this.pendingMaxSeq);
    this.forgetPending();
  }

  /** The open transaction rolled back: forget what it noted. */
  rolledBack(): void {
    this.forgetPending();
  }

  private forgetPending(): void {
    // Cleared, not replaced: a new table each commit was garbage that outgrew the thread's small heap.
    this.pending.clear();
    this.pendingMaxSeq = 0;
  }

  /**
   * Writes the next chunk of the frozen level into the table, freezing the memory
   * level first when it is full. Call between write transactions. A failure
   * leaves the level in memory, where lookups still find it; the next call retries.
   */
  mergeStep(): void {
    // Merging no faster than ids arrive let the memory level grow without bound (measured:
    // 8,192 per step against commits of 10,000 ids, and a level that doubled every few merges).
    const chunk = Math.max(this.mergeChunk, 2 * this.addedSinceStep);
    this.addedSinceStep = 0;
    if (!this.merging) {
      if (this.active.size < this.mergeAt) return;
      this.merging = { table: this.active, hashes: this.active.sortedHashes(), uptoSeq: this.knownSeq, next: 0 };
      // Sized for a full level at once, so it does not grow step by step while filling.
      this.active = this.spare ?? new KeyTable(this.mergeAt * 2 + 20_000);
      this.spare = undefined;
    }
    const merging = this.merging;
    const to = Math.min(merging.hashes.length, merging.next + chunk);
    const last = to === merging.hashes.length;
    this.mergeTransaction.immediate(merging.hashes, merging.next, to, merging.table, last ? merging.uptoSeq : undefined);
    for (let i = merging.next; i < to; i++) this.filter.add(merging.hashes[i] as number);
    merging.next = to;
    // Past its capacity the filter answers "maybe" too often: build a twice larger one.
    if (this.filter.size > this.filter.capacity) this.filter = this.filterOfTable(this.filter.size * 2);
    if (last) {
      merging.table.clear();
      this.spare = merging.table;
      this.merging = undefined;
    }
  }

  // A filter holding every hash in record_keys, with room for at least `room` keys
  // (and twice what the table holds). Reading the table takes about half a second
  // per million keys (measured); it happens at open and each time the table doubles.
  private filterOfTable(room: number): HashFilter {
    const count = Number(this.statements.countKeys.get());
    const filter = new HashFilter(Math.max(room, count * 2, this.filterCapacity));
    for (const hash of this.statements.allKeys.iterate() as IterableIterator<number>) filter.add(hash);
    return filter;
  }

  // Records above knownSeq whose ids are not in the table yet. Records stored under a
  // collision are skipped: their hash belongs to another id.
  private readNewRecords(): void {
    const collisions = new Set((this.statements.collisionSeqs.all(this.knownSeq) as number[]).map(Number));
    for (const [seq, id] of this.statements.newRecords.iterate(this.knownSeq) as IterableIterator<[number, string]>) {
      if (!collisions.has(seq)) this.active.setIfAbsent(idHash(id), seq);
      this.knownSeq = seq;
    }
  }
}
