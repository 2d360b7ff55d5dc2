/**
 * Turns input lines into record values and keys for `rsp produce`. Pure: no I/O.
 *
 * - `lines`: each line is one record's value, as it is.
 * - `json`: each line must be one JSON value (JSON Lines); the line's text is the value, so numbers
 *   and formatting are kept exactly. `--key-field` takes the key from a field of a JSON object.
 *
 * Blank lines are skipped in both formats (a trailing newline, spacing between JSON lines).
 */

export type InputFormat = 'lines' | 'json';
export const INPUT_FORMATS: readonly InputFormat[] = ['lines', 'json'];

export type ParsedLine = { kind: 'record'; value: string; key?: string } | { kind: 'blank' } | { kind: 'bad'; reason: string };

/** Splits `user.id` into the path `['user', 'id']`. */
export function keyPath(keyField: string): string[] {
  return keyField.split('.');
}

export function parseLine(line: string, format: InputFormat, keyField?: readonly string[]): ParsedLine {
  if (line.trim() === '') return { kind: 'blank' };
  if (format === 'lines') return { kind: 'record', value: line };
  const text = line.trim();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { kind: 'bad', reason: `not valid JSON (${err instanceof Error ? err.message : String(err)})` };
  }
  if (keyField === undefined) return { kind: 'record', value: text };
  const name = keyField.join('.');
  let at: unknown = parsed;
  for (const part of keyField) {
    if (typeof at !== 'object' || at === null || Array.isArray(at)) {
      return { kind: 'bad', reason: `--key-field "${name}" needs a JSON object here, got ${describe(at)}` };
    }
    if (!Object.hasOwn(at, part)) return { kind: 'bad', reason: `--key-field "${name}" is missing` };
    at = (at as Record<string, unknown>)[part];
  }
  if (typeof at === 'string') return { kind: 'record', value: text, key: at };
  if (typeof at === 'number' && Number.isFinite(at)) return { kind: 'record', value: text, key: String(at) };
  return { kind: 'bad', reason: `--key-field "${name}" must be a string or a number, got ${describe(at)}` };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}
