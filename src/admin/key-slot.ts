/**
 * Redis Cluster's key → slot function, so a topic's placement can be planned without a round trip
 * per key: CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0, no reflection) of the key's hash
 * tag, modulo 16384 (the Redis Cluster specification, "Keys distribution model").
 */
import { hashTag } from '../keys.js';

/** Number of hash slots in a Redis Cluster. */
export const CLUSTER_SLOTS = 16_384;

const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

/** CRC16-CCITT (XMODEM) of `data`, as Redis computes it. */
export function crc16(data: Uint8Array): number {
  let crc = 0;
  for (const byte of data) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ byte) & 0xff]!;
  return crc;
}

/** The slot of `key` (UTF-8 for a string), honouring its hash tag, as `CLUSTER KEYSLOT` answers. */
export function keySlot(key: string): number {
  return crc16(Buffer.from(hashTag(key))) % CLUSTER_SLOTS;
}
