import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';

/**
 * Loads the Lua scripts in `lua/` at start-up and registers them with ioredis `defineCommand`
 * (EVALSHA, falling back to EVAL on NOSCRIPT, so a `SCRIPT FLUSH` or a restart is harmless).
 * Command names carry a version so two library versions sharing a client never run each
 * other's script.
 */

const SCRIPT_VERSION = 2;
const luaDir = new URL('../lua/', import.meta.url);

function defineScript(client: Redis | Cluster, file: string, numberOfKeys: number): string {
  const command = `rsp_${file.replace(/-/g, '_')}_v${SCRIPT_VERSION}`;
  if (typeof (client as unknown as Record<string, unknown>)[command] !== 'function') {
    client.defineCommand(command, { lua: readFileSync(new URL(`${file}.lua`, luaDir), 'utf8'), numberOfKeys });
  }
  return command;
}

type ScriptCall = (...args: (string | number | Buffer | (string | Buffer | number)[])[]) => Promise<unknown>;
const callOf = (client: Redis | Cluster, command: string): ScriptCall =>
  ((client as unknown as Record<string, ScriptCall>)[command] as ScriptCall).bind(client);

/** Trim arguments of `publish-batch.lua`: strategy ('' = none), operator, threshold. */
export type TrimArgs = readonly [strategy: '' | 'MAXLEN' | 'MINID', operator: '~' | '=' | '', threshold: string];
export const NO_TRIM: TrimArgs = ['', '', ''];

/** Idempotence arguments of one `publish-batch` call. */
export interface IdempotenceArgs {
  /** `{stream}:p:<producerId>`: the producer's state on this shard. */
  stateKey: string;
  seq: number;
  stateTtlMs: number;
}

/** What `publish-batch.lua` answered. */
export interface PublishReply {
  /** false: this sequence had landed before; `ids` are the original ones. */
  written: boolean;
  ids: string[];
}

export interface Scripts {
  /**
   * `lua/publish-batch.lua`: XADDs every record of `records` (field count, then fields, per record)
   * to `stream`, at most once per (producer, seq) when `idem` is given.
   */
  publishBatch(stream: string, trim: TrimArgs, idem: IdempotenceArgs | undefined, recordCount: number, records: (string | Buffer | number)[]): Promise<PublishReply>;
  /** `lua/check-batch.lua`: did batch `seq` land? If not, fences it so it never will. */
  checkBatch(stateKey: string, seq: number, stateTtlMs: number): Promise<boolean>;
  /** `lua/ensure-topic.lua`: stores `shards` for the topic if unset; returns the stored count. */
  ensureTopic(metaKey: string, shards: number): Promise<number>;
}

export function loadScripts(client: Redis | Cluster): Scripts {
  const publish = callOf(client, defineScript(client, 'publish-batch', 2));
  const check = callOf(client, defineScript(client, 'check-batch', 1));
  const ensure = callOf(client, defineScript(client, 'ensure-topic', 1));
  return {
    publishBatch: async (stream, trim, idem, recordCount, records) => {
      const reply = (await (idem === undefined
        ? publish(stream, `${stream}:p:-`, trim[0], trim[1], trim[2], '', 0, 0, recordCount, records)
        : publish(stream, idem.stateKey, trim[0], trim[1], trim[2], '1', idem.seq, idem.stateTtlMs, recordCount, records))) as (number | string)[];
      return { written: reply[0] === 1, ids: reply.slice(1) as string[] };
    },
    checkBatch: async (stateKey, seq, stateTtlMs) => (await check(stateKey, seq, stateTtlMs)) === 1,
    ensureTopic: (metaKey, shards) => ensure(metaKey, shards) as Promise<number>,
  };
}
