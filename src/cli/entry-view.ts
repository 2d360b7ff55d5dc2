import { type FieldText, plain } from './field-text.js';
import type { ShardEntry } from './stream-ids.js';

/**
 * A stream entry as the producer writes it: `payload` is the value, `key` the
 * record's key, `h:<name>` one header each. Fields other writers added are kept under `other`.
 */
export interface EntryView {
  id: string;
  shard: number;
  stream: string;
  key?: FieldText;
  headers?: Record<string, FieldText>;
  value?: FieldText;
  other?: Record<string, FieldText>;
}

export function viewEntry(entry: ShardEntry, stream: string): EntryView {
  let key: FieldText | undefined;
  let value: FieldText | undefined;
  const headers: Record<string, FieldText> = {};
  const other: Record<string, FieldText> = {};
  for (let i = 0; i + 1 < entry.fields.length; i += 2) {
    const name = plain(entry.fields[i]!);
    const field = entry.fields[i + 1]!;
    if (name === 'payload') value = field;
    else if (name === 'key') key = field;
    else if (name.startsWith('h:')) headers[name.slice(2)] = field;
    else other[name] = field;
  }
  // Built in this order so JSON output reads id, shard, stream, key, headers, value.
  const view: EntryView = { id: entry.id, shard: entry.shard, stream };
  if (key !== undefined) view.key = key;
  view.headers = headers;
  if (value !== undefined) view.value = value;
  if (Object.keys(other).length > 0) view.other = other;
  return view;
}

/** A token that stays one word: quoted as JSON when it holds whitespace, `=` or a quote, or is empty. */
function token(text: string): string {
  return text === '' || /[\s="]/.test(text) ? JSON.stringify(text) : text;
}

/**
 * One line of `rsp tail`: `<id> shard=<n> [key=<k>] [h:<name>=<v>…] [<field>=<v>…]  <value>`.
 * The value comes last, as it is, after two spaces.
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
  if (view.value === undefined) return parts.join(' ');
  const value = plain(view.value);
  return parts.length === 0 ? ` ${value}` : `${parts.join(' ')}  ${value}`;
}
