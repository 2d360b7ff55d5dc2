import type { Cluster } from 'ioredis';
import { withDeadline } from '../connection.js';

const TIMEOUT_MS = 5_000;

/** The master serving a slot, as `CLUSTER SLOTS` names it. */
export interface SlotOwner {
  host: string;
  port: number;
  id: string;
}

/** `CLUSTER SLOTS` reply: [start, end, [host, port, id, …], replicas…] per range. */
type SlotsReply = [number, number, [string, number, string?, ...unknown[]], ...unknown[]][];

/** Turns a `CLUSTER SLOTS` reply into a lookup slot → master. Pure. */
export function slotOwners(reply: SlotsReply): (slot: number) => SlotOwner | undefined {
  const ranges = reply.map(([start, end, [host, port, id]]) => ({ start, end, owner: { host, port, id: id ?? '' } }));
  return (slot) => ranges.find((r) => slot >= r.start && slot <= r.end)?.owner;
}

/** Slot and master of each key, asked of the cluster itself (`CLUSTER KEYSLOT`, `CLUSTER SLOTS`). */
export async function locateKeys(cluster: Cluster, keys: readonly string[]): Promise<{ slot: number; master: SlotOwner | undefined }[]> {
  const reply = (await withDeadline(cluster.cluster('SLOTS'), TIMEOUT_MS, 'CLUSTER SLOTS')) as unknown as SlotsReply;
  const ownerOf = slotOwners(reply);
  return Promise.all(
    keys.map(async (key) => {
      const slot = Number(await withDeadline(cluster.cluster('KEYSLOT', key), TIMEOUT_MS, 'CLUSTER KEYSLOT'));
      return { slot, master: ownerOf(slot) };
    }),
  );
}
