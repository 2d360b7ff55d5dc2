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

export type ScriptCall = (...args: (string | number | Buffer | (string | Buffer | number)[])[]) => Promise<unknown>;

/**
 * Registers `lua/<file>.lua` on `client` as `rsp_<file>_v<version>` (once per client) and returns
 * a function that calls it: keys first, then arguments; an array argument is spread.
 */
export function registerScript(client: Redis | Cluster, file: string, numberOfKeys: number): ScriptCall {
  const command = `rsp_${file.replace(/-/g, '_')}_v${SCRIPT_VERSION}`;
  const commands = client as unknown as Record<string, ScriptCall>;
  if (typeof commands[command] !== 'function') {
    client.defineCommand(command, { lua: readFileSync(new URL(`${file}.lua`, luaDir), 'utf8'), numberOfKeys });
  }
  return (commands[command] as ScriptCall).bind(client);
}

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
  const publish = registerScript(client, 'publish-batch', 2);
  const check = registerScript(client, 'check-batch', 1);
  const ensure = registerScript(client, 'ensure-topic', 1);
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
