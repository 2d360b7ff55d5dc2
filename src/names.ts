/**
 * What a namespace, topic or header name may be. Every rule that keeps a name from moving a key
 * into another Cluster slot, or two names onto one key, is here.
 */

/** Longest namespace or topic name accepted: keeps keys short and bounded. */
export const MAX_NAME_LENGTH = 128;

// No braces (would change the hash tag), no ':' (would let `ns=a:b, topic=c` collide with
// `ns=a, topic=b:c`), no whitespace or control characters, no lone surrogates (UTF-8 turns each
// into U+FFFD, so two different names would become the same key).
const NAME_PATTERN = /^[^{}:\s\p{Cc}\p{Cs}]+$/u;

/** Topic names that collide with the producer's own key families. */
export const RESERVED_TOPICS: ReadonlySet<string> = new Set(['compensation']);

/** Returns why `name` is not a valid namespace/topic name, or undefined when it is valid. */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > MAX_NAME_LENGTH) return `must be at most ${MAX_NAME_LENGTH} characters, got ${name.length}`;
  if (!NAME_PATTERN.test(name)) return 'must not contain "{", "}", ":", whitespace, control characters or lone surrogates';
  return undefined;
}

/** Header names: 1–256 characters, no `{`, `}`, whitespace, control characters or lone surrogates. */
export const HEADER_NAME = /^[^{}\s\p{Cc}\p{Cs}]{1,256}$/u;

/** What `HEADER_NAME` asks for, in words, for error messages. */
export const HEADER_NAME_RULE = '1–256 characters without "{", "}", whitespace, control characters or lone surrogates';
