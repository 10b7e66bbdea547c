/** The bounds every record must respect; the API enforces them and documents them in the proto. */
export const RECORD_LIMITS = {
  /** Longest record id, in characters. */
  maxIdLength: 128,
  /** Longest cluster id, provider, operation, model and trace id, in characters. */
  maxNameLength: 128,
  /** Largest metadata, in bytes of JSON. */
  maxMetadataBytes: 4_096,
  /** Deepest metadata nesting (an object inside an object is depth 2). */
  maxMetadataDepth: 4,
  /** Largest cost of one record, in whole units. */
  maxCostUnits: 1_000_000_000n,
  /** How far a record's timestamp may be ahead of the server's clock. */
  maxFutureSkewMs: 5 * 60_000,
  /** Earliest accepted timestamp: 2000-01-01T00:00:00Z. */
  minTimestampMs: Date.UTC(2000, 0, 1),
  /** Most records in one RecordCosts message. */
  maxRecordsPerMessage: 5_000,
} as const;

/** Cluster and budget ids: a letter or digit, then letters, digits and . _ : - */
export const RESOURCE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
