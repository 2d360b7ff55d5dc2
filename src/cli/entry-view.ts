import { ENCODING_FIELD } from '../compression.js';
import { EntryReadError, readEntry } from '../entry.js';
import { fieldText, type FieldText, plain } from './field-text.js';
import type { ShardEntry } from './stream-ids.js';

/**
 * A stream entry as the producer writes it, read through `readEntry`: `payload` is the value
 * (decompressed when its `encoding` field names a codec), `key` the record's key, `h:<name>` one
 * header each. Fields other writers added are kept under `other`.
 */
export interface EntryView {
  id: string;
  shard: number;
  stream: string;
  key?: FieldText;
  headers?: Record<string, FieldText>;
  value?: FieldText;
  /** The codec the value was stored with, when it was compressed. */
  encoding?: string;
  /** Why the value could not be read back (`EntryReadError` code); `value` is then the stored bytes. */
  unreadable?: string;
  other?: Record<string, FieldText>;
}

export function viewEntry(entry: ShardEntry, stream: string): EntryView {
  let key: FieldText | undefined;
  let stored: FieldText | undefined;
  let encoding: string | undefined;
  const headers: Record<string, FieldText> = {};
  const other: Record<string, FieldText> = {};
  for (let i = 0; i + 1 < entry.fields.length; i += 2) {
    const name = entry.fields[i]!.toString();
    const field = fieldText(entry.fields[i + 1]!);
    if (name === 'payload') stored = field;
    else if (name === 'key') key = field;
    else if (name.startsWith('h:')) headers[name.slice(2)] = field;
    else if (name === ENCODING_FIELD) encoding = entry.fields[i + 1]!.toString();
    else other[name] = field;
  }
  // Built in this order so JSON output reads id, shard, stream, key, headers, value.
  const view: EntryView = { id: entry.id, shard: entry.shard, stream };
  if (key !== undefined) view.key = key;
  view.headers = headers;
  if (stored !== undefined) {
    try {
      const record = readEntry(entry.fields, { as: 'buffer' });
      view.value = fieldText(record.value);
    } catch (err) {
      if (!(err instanceof EntryReadError)) throw err;
      // Shown as stored, with the reason: one unreadable entry does not stop a tail.
      view.value = stored;
      view.unreadable = err.code;
    }
  }
  if (encoding !== undefined) view.encoding = encoding;
  if (Object.keys(other).length > 0) view.other = other;
  return view;
}

/** A token that stays one word: quoted as JSON when it holds whitespace, `=` or a quote, or is empty. */
function token(text: string): string {
  return text === '' || /[\s="]/.test(text) ? JSON.stringify(text) : text;
}

/**
 * One line of `rsp tail`: `<id> shard=<n> [key=<k>] [h:<name>=<v>…] [<field>=<v>…] [encoding=<codec>]
 * [unreadable=<code>]  <value>`. The value comes last, as it is, after two spaces.
 */
export function entryLine(view: EntryView): string {
  return `${view.id} shard=${view.shard} ${recordText(view)}`;
}

/** The record part of `entryLine`: `[key=<k>] [h:<name>=<v>…]  <value>`. */
export function recordText(view: EntryView): string {
  const parts: string[] = [];
  if (view.key !== undefined) parts.push(`key=${token(plain(view.key))}`);
  for (const [name, value] of Object.entries(view.headers ?? {})) parts.push(`h:${token(name)}=${token(plain(value))}`);
  for (const [name, value] of Object.entries(view.other ?? {})) parts.push(`${token(name)}=${token(plain(value))}`);
  if (view.encoding !== undefined) parts.push(`encoding=${token(view.encoding)}`);
  if (view.unreadable !== undefined) parts.push(`unreadable=${view.unreadable}`);
  if (view.value === undefined) return parts.join(' ');
  const value = plain(view.value);
  return parts.length === 0 ? ` ${value}` : `${parts.join(' ')}  ${value}`;
}
