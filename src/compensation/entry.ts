import type { Persisted } from '../errors.js';

/**
 * One record parked in the compensation store: everything needed to publish it
 * again, why it was parked, and whether it may already be in its stream.
 */
export interface CompensationEntry {
  /** `<sessionId>:<shard>:<seq>:<index>` (see `entryId`): unique and deterministic, so parking the same record twice is harmless. */
  id: string;
  /** Topic the record was sent to. */
  topic: string;
  /** Shard the record was assigned to; replay writes it to the same shard, keeping its key's shard. */
  shard: number;
  /** The XADD field/value list the producer encoded (`payload`, value, [`key`, key], [`h:<name>`, value]…). */
  fields: (string | Buffer)[];
  /**
   * The idempotence identity and sequence of the last batch that carried the record: the original
   * batch, or the replay batch about to be (or that was) sent. With `persisted: 'possibly'` a
   * replayer first asks the shard whether that batch landed.
   */
  producerId: string;
  /** That batch's sequence number on its shard (counted with idempotence off too). */
  seq: number;
  /** `not`: surely not in the stream; `possibly`: a reply was lost, it may be. */
  persisted: Persisted;
  /** Replay attempts so far (0 when parked). */
  attempts: number;
  /** Code and message of the last failure. */
  lastError: string;
  /** When it was first parked (ms since the epoch). */
  parkedAt: number;
}

/** The record's fields as JSON can carry them: Buffers as `{ b64 }`. */
type WireField = string | { b64: string };

interface WireEntry extends Omit<CompensationEntry, 'fields'> {
  v: 1;
  fields: WireField[];
}

/** Encodes an entry as the JSON string stored in the `:data` hash (readable with redis-cli). */
export function serializeEntry(entry: CompensationEntry): string {
  const wire: WireEntry = {
    v: 1,
    ...entry,
    fields: entry.fields.map((f) => (typeof f === 'string' ? f : { b64: f.toString('base64') })),
  };
  return JSON.stringify(wire);
}

/** Decodes what `serializeEntry` wrote; throws on anything else. */
export function parseEntry(raw: string | Buffer): CompensationEntry {
  const wire = JSON.parse(raw.toString()) as WireEntry;
  if (wire.v !== 1 || typeof wire.id !== 'string' || !Array.isArray(wire.fields)) {
    throw new Error(`Not a compensation entry (version ${String(wire.v)})`);
  }
  const { v: _version, fields, ...rest } = wire;
  return { ...rest, fields: fields.map((f) => (typeof f === 'string' ? f : Buffer.from(f.b64, 'base64'))) };
}

/** `parseEntry`, or undefined for what this version cannot read (a newer version wrote it, or it is damaged). */
export function tryParseEntry(raw: string | Buffer): CompensationEntry | undefined {
  try {
    return parseEntry(raw);
  } catch {
    return undefined;
  }
}

/**
 * The entry id of record `index` of batch `seq` on `shard`: `<sessionId>:<shard>:<seq>:<index>`,
 * numbers zero-padded so that ids of one session sort in sending order (the store breaks ties of
 * equal park times by id).
 */
export function entryId(sessionId: string, shard: number, seq: number, index: number): string {
  return `${sessionId}:${shard}:${String(seq).padStart(12, '0')}:${String(index).padStart(6, '0')}`;
}

/** The part of a batch that parking reads. */
export interface ParkedBatch {
  seq: number;
  count: number;
  /** The XADD fields of record `i`. */
  fieldsAt(i: number): (string | Buffer)[];
}

/** One entry per record of `batch`, sent by `sessionId` to `shard` of `topic`, as parked now. */
export function parkedEntries(sessionId: string, topic: string, shard: number, batch: ParkedBatch, persisted: Persisted, lastError: string, parkedAt: number): CompensationEntry[] {
  const entries: CompensationEntry[] = [];
  for (let i = 0; i < batch.count; i++) {
    entries.push({
      id: entryId(sessionId, shard, batch.seq, i),
      topic,
      shard,
      fields: batch.fieldsAt(i),
      producerId: sessionId,
      seq: batch.seq,
      persisted,
      attempts: 0,
      lastError,
      parkedAt,
    });
  }
  return entries;
}
