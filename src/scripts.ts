import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';

/**
 * Loads the Lua scripts in `lua/` at start-up and registers them with ioredis `defineCommand`
 * (EVALSHA, falling back to EVAL on NOSCRIPT, so a `SCRIPT FLUSH` or a restart is harmless).
 * Command names carry a version so two library versions sharing a client never run each
 * other's script.
 */

const SCRIPT_VERSION = 1;
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

export interface Scripts {
  /**
   * `lua/publish-batch.lua`: XADDs every record of `records` (the script's ARGV[5…] layout:
   * field count, then fields, per record) to `stream`; returns the new ids in order.
   */
  publishBatch(stream: string, trim: TrimArgs, recordCount: number, records: (string | Buffer | number)[]): Promise<string[]>;
  /** `lua/ensure-topic.lua`: stores `shards` for the topic if unset; returns the stored count. */
  ensureTopic(metaKey: string, shards: number): Promise<number>;
}

export function loadScripts(client: Redis | Cluster): Scripts {
  const publish = callOf(client, defineScript(client, 'publish-batch', 1));
  const ensure = callOf(client, defineScript(client, 'ensure-topic', 1));
  return {
    publishBatch: (stream, trim, recordCount, records) =>
      publish(stream, trim[0], trim[1], trim[2], recordCount, records) as Promise<string[]>,
    ensureTopic: (metaKey, shards) => ensure(metaKey, shards) as Promise<number>,
  };
}
