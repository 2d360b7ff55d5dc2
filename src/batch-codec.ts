/**
 * The wire format between a batch and `lua/publish-batch.lua` (see its header): the records'
 * XADD fields encoded into the script's ARGV, and its reply decoded into one id per record.
 * Pure functions, so the encoding is unit-tested without Redis.
 */

/** One record's XADD field/value list: `payload`, value[, `key`, key][, `h:<name>`, value]… */
export type RecordFields = readonly (string | Buffer)[];

/**
 * A record as it enters a batch: its entry is `payload` = value [+ `key` = key] when `fields` is
 * undefined; otherwise `fields` is the whole entry (headers, or a replayed entry's stored fields).
 */
export interface BufferedRecord {
  value: string | Buffer | undefined;
  key: string | Buffer | undefined;
  fields: RecordFields | undefined;
}

/** A stored field list as a `BufferedRecord`: value and key alone when that is all it holds. */
export function bufferedRecord(fields: RecordFields): BufferedRecord {
  if (fields[0] === 'payload' && fields.length === 2) return { value: fields[1], key: undefined, fields: undefined };
  if (fields[0] === 'payload' && fields.length === 4 && fields[2] === 'key') return { value: fields[1], key: fields[3], fields: undefined };
  return { value: undefined, key: undefined, fields };
}

/**
 * A batch's records as three columns, the way `Batch` holds them: a record that is only `payload`
 * [+ `key`] keeps no field list at all (two array slots instead of a small array per buffered
 * record); any other (headers, a replayed entry) keeps its whole field list in `extras`.
 */
export interface RecordColumns {
  /** `values[i]`: record i's value, or undefined when `extras[i]` holds its fields. */
  values: (string | Buffer | undefined)[];
  /** `keys[i]`: record i's key, if it has one and no `extras[i]`. */
  keys: (string | Buffer | undefined)[];
  /** `extras[i]`: record i's whole field list, when it is not payload [+ key]; absent when none is. */
  extras: (RecordFields | undefined)[] | undefined;
  /** How many records have a key (and no extras). */
  keyed: number;
}

/** An empty set of columns. */
export function emptyColumns(): RecordColumns {
  return { values: [], keys: [], extras: undefined, keyed: 0 };
}

/** Appends one record to the columns. */
export function addToColumns(columns: RecordColumns, record: BufferedRecord): void {
  if (record.fields !== undefined) {
    (columns.extras ??= [])[columns.values.length] = record.fields;
    columns.values.push(undefined);
    columns.keys.push(undefined);
  } else {
    columns.values.push(record.value);
    columns.keys.push(record.key);
    if (record.key !== undefined) columns.keyed++;
  }
}

/** Replaces record i's fields with `fields` (its value compressed): it then keeps a whole field list. */
export function setFieldsAt(columns: RecordColumns, i: number, fields: RecordFields): void {
  if (columns.extras?.[i] === undefined && columns.keys[i] !== undefined) columns.keyed--;
  (columns.extras ??= [])[i] = fields;
  columns.values[i] = undefined;
  columns.keys[i] = undefined;
}

/** Splits field lists into columns (the reference form; `Batch` fills its columns as records arrive). */
export function toColumns(records: readonly RecordFields[]): RecordColumns {
  const columns = emptyColumns();
  for (const fields of records) addToColumns(columns, bufferedRecord(fields));
  return columns;
}

/** A record's XADD field list (a copy): its `fields`, or `payload` = value [+ `key` = key]. */
export function entryFields(record: BufferedRecord): (string | Buffer)[] {
  if (record.fields !== undefined) return [...record.fields];
  return record.key === undefined ? ['payload', record.value!] : ['payload', record.value!, 'key', record.key];
}

/** Record i's XADD field list, rebuilt from the columns. */
export function fieldsAt(columns: RecordColumns, i: number): (string | Buffer)[] {
  return entryFields({ value: columns.values[i], key: columns.keys[i], fields: columns.extras?.[i] });
}

/** The field names of a run of value-only records, and of value-and-key records. */
const VALUE_ONLY = ['payload'] as const;
const VALUE_AND_KEY = ['payload', 'key'] as const;

/**
 * Encodes records into the script's ARGV from `ARGV[8]` on: layout `'r'`, then runs of records
 * that share their field names (see `lua/publish-batch.lua`): each run is its record count m, its
 * field count f, the f names once, then m × f values. A batch of one shape is one run, so a field
 * name travels once per batch instead of once per record.
 */
export function encodeColumns(columns: RecordColumns): (string | Buffer | number)[] {
  const { values, keys, extras, keyed } = columns;
  const n = values.length;
  if (extras === undefined && (keyed === 0 || keyed === n)) {
    // One run, sized up front: the shape of nearly every batch.
    const names = keyed === 0 ? VALUE_ONLY : VALUE_AND_KEY;
    const f = names.length;
    const args: (string | Buffer | number)[] = new Array(3 + f + n * f);
    args[0] = 'r';
    args[1] = n;
    args[2] = f;
    for (let k = 0; k < f; k++) args[3 + k] = names[k]!;
    let at = 3 + f;
    if (f === 1) for (let i = 0; i < n; i++) args[at++] = values[i]!;
    else
      for (let i = 0; i < n; i++) {
        args[at++] = values[i]!;
        args[at++] = keys[i]!;
      }
    return args;
  }
  const args: (string | Buffer | number)[] = ['r'];
  let runAt = -1; // where the current run's record count goes
  let runFields: RecordFields | undefined; // its names: the even entries (`VALUE_ONLY`/`VALUE_AND_KEY` hold only names)
  let inRun = 0;
  const open = (names: RecordFields, stride: number): void => {
    if (runAt >= 0) args[runAt] = inRun;
    runAt = args.length;
    runFields = names;
    inRun = 0;
    args.push(0, names.length / stride);
    for (let k = 0; k < names.length; k += stride) args.push(names[k]!);
  };
  for (let i = 0; i < n; i++) {
    const fields = extras?.[i];
    if (fields === undefined) {
      const key = keys[i];
      const names = key === undefined ? VALUE_ONLY : VALUE_AND_KEY;
      if (runFields !== names) open(names, 1);
      args.push(values[i]!);
      if (key !== undefined) args.push(key);
    } else {
      if (runFields === undefined || runFields === VALUE_ONLY || runFields === VALUE_AND_KEY || !sameNames(runFields, fields)) open(fields, 2);
      for (let k = 1; k < fields.length; k += 2) args.push(fields[k]!);
    }
    inRun++;
  }
  args[runAt] = inRun;
  return args;
}

/** Whether two field lists have the same names (their even entries), in the same order. */
function sameNames(a: RecordFields, b: RecordFields): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k += 2) if (a[k] !== b[k]) return false;
  return true;
}

/** `encodeColumns` of field lists: what tests and the benchmark's bare script loop send. */
export function encodeBatch(records: readonly RecordFields[]): (string | Buffer | number)[] {
  return encodeColumns(toColumns(records));
}

/** What `publish-batch.lua` answered, decoded. */
export interface PublishReply {
  /** false: this sequence had landed before; `ids` are the original ones (fewer if trimmed since). */
  written: boolean;
  /** Number of records the ids cover (the batch's count, or fewer for a trimmed duplicate). */
  count: number;
  /** The id of record `i`, built on demand: a consecutive reply carries only the first id. */
  idAt(i: number): string;
  /** Every id, in record order. */
  ids(): string[];
}

/** Decodes the script's reply for a batch of `count` records; throws on a reply of another shape. */
export function decodeReply(reply: unknown, count: number): PublishReply {
  if (!Array.isArray(reply) || reply.length < 1) throw new TypeError(`publish-batch reply is not an array: ${String(reply)}`);
  const status = reply[0] as number;
  if (status === 1) {
    const first = String(reply[1]);
    const dash = first.indexOf('-');
    if (reply.length !== 2 || dash < 1) throw new TypeError(`publish-batch reply ${JSON.stringify(reply)} is not { 1, <first id> }`);
    const ms = first.slice(0, dash);
    const seqText = first.slice(dash + 1);
    // Beyond 2^53 a number loses digits: count in BigInt then (a stream whose ids were chosen by hand).
    const big = seqText.length > 15;
    const seq = big ? 0 : Number(seqText);
    const bigSeq = big ? BigInt(seqText) : 0n;
    const prefix = `${ms}-`; // one concatenation per id instead of two
    const idAt = (i: number): string => (i === 0 ? first : prefix + (big ? String(bigSeq + BigInt(i)) : seq + i));
    return { written: true, count, idAt, ids: () => Array.from({ length: count }, (_, i) => idAt(i)) };
  }
  if (status === 0 || status === 2) {
    const ids = reply.slice(1).map(String);
    if (status === 2 && ids.length !== count) throw new TypeError(`publish-batch answered ${ids.length} ids for ${count} records`);
    return { written: status === 2, count: ids.length, idAt: (i) => ids[i]!, ids: () => ids };
  }
  throw new TypeError(`publish-batch reply has unknown status ${JSON.stringify(status)}`);
}
