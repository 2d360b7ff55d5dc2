/** A field as `rsp` shows it: text when its bytes are UTF-8, else `{ base64 }` (nothing is lost). */
export type FieldText = string | { base64: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** `bytes` as text when they are valid UTF-8, else as base64. */
export function fieldText(bytes: string | Buffer): FieldText {
  if (typeof bytes === 'string') return bytes;
  try {
    return utf8.decode(bytes);
  } catch {
    return { base64: bytes.toString('base64') };
  }
}

/** A field in a line of text: base64 ones as `base64:<…>`. */
export const plain = (field: FieldText): string => (typeof field === 'string' ? field : `base64:${field.base64}`);
