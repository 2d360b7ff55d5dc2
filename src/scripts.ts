import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';
import { decodeReply, type PublishReply } from './batch-codec.js';
import { nodeOfKey } from './client-kind.js';
import { landedKey, unusedStateKey } from './keys.js';
import { DeliveryError } from './errors.js';

/**
 * Loads the Lua scripts in `lua/` at start-up and registers them with ioredis `defineCommand`
 * (EVALSHA, falling back to EVAL on NOSCRIPT, so a `SCRIPT FLUSH` or a restart is harmless).
 * Command names carry a version so two library versions sharing a client never run each
 * other's script.
 */

const SCRIPT_VERSION = 7;
const luaDir = new URL('../lua/', import.meta.url);

export type ScriptCall = (...args: (string | number | Buffer | (string | Buffer | number)[])[]) => Promise<unknown>;

/**
 * The keys of every script, by name, in their `KEYS` order: the one place key counts come from (a
 * test checks them against each script's header).
 */
export const SCRIPT_KEYS = {
  'publish-batch': ['stream', 'state'],
  'check-batch': ['state', 'landed'],
  'ensure-topic': ['meta'],
  'compensation-park': ['zset', 'data', 'dead', 'done'],
  'compensation-claim': ['zset', 'data', 'lease', 'hold'],
  'compensation-settle': ['zset', 'data', 'lease', 'dead', 'hold', 'done'],
  'compensation-requeue': ['zset', 'data', 'dead'],
  'compensation-delete': ['zset', 'data', 'lease', 'dead', 'done'],
} as const;

/** A script of `lua/`. */
export type ScriptName = keyof typeof SCRIPT_KEYS;

/** The keys of script `N`, by name. */
export type ScriptKeys<N extends ScriptName> = { readonly [K in (typeof SCRIPT_KEYS)[N][number]]: string };

/** A call of script `N`: its keys as a named object, then its arguments (an array argument is spread). */
export type KeyedScriptCall<N extends ScriptName> = (keys: ScriptKeys<N>, ...args: (string | number | Buffer | (string | Buffer | number)[])[]) => Promise<unknown>;

/**
 * Registers `lua/<name>.lua` on `client` as `rsp_<name>_v<version>` (once per client) and returns
 * a function that calls it with its keys by name.
 */
export function script<N extends ScriptName>(client: Redis | Cluster, name: N): KeyedScriptCall<N> {
  const order: readonly string[] = SCRIPT_KEYS[name];
  const call = registerScript(client, name);
  return (keys, ...args) => call(...order.map((key) => (keys as Record<string, string>)[key]!), ...args);
}

/**
 * Registers `lua/<name>.lua` and returns a function that calls it with keys by position, then
 * arguments; for the hot path, which builds its argument list once.
 */
export function registerScript(client: Redis | Cluster, name: ScriptName): ScriptCall {
  const command = commandName(client, name);
  return ((client as unknown as Record<string, ScriptCall>)[command] as ScriptCall).bind(client);
}

/** The command name `lua/<name>.lua` is registered under, e.g. `rsp_publish_batch_v5`. */
export function scriptCommand(name: ScriptName): string {
  return `rsp_${name.replace(/-/g, '_')}_v${SCRIPT_VERSION}`;
}

/** Registers the script (once per client) and returns its command name, e.g. for a pipeline. */
function commandName(client: Redis | Cluster, name: ScriptName): string {
  const command = scriptCommand(name);
  if (typeof (client as unknown as Record<string, unknown>)[command] !== 'function') {
    client.defineCommand(command, { lua: loadLua(name), numberOfKeys: SCRIPT_KEYS[name].length });
  }
  return command;
}

/**
 * The text of `lua/<name>.lua` with each `--- @include "<file>"` line replaced by
 * `lua/include/<file>.lua`, so Lua shared by several scripts is written (and checked) once.
 */
export function loadLua(name: ScriptName): string {
  return readFileSync(new URL(`${name}.lua`, luaDir), 'utf8').replace(/^--- @include "([a-z-]+)"$/gm, (_line, file: string) => readFileSync(new URL(`include/${file}.lua`, luaDir), 'utf8').trimEnd());
}

/** Trim arguments of `publish-batch.lua`: strategy ('' = none), operator, threshold. */
export type TrimArgs = readonly [strategy: '' | 'MAXLEN' | 'MINID', operator: '~' | '=' | '', threshold: string];
export const NO_TRIM: TrimArgs = ['', '', ''];

/** Idempotence arguments of one `publish-batch` call. */
export interface IdempotenceArgs {
  /** `{stream}:p:<sessionId>`: the producer session's state on this shard. */
  stateKey: string;
  seq: number;
  stateTtlMs: number;
}

/** `acks: 'all'`: after the script, `WAIT replicas timeoutMs` on the same connection. */
export interface WaitArgs {
  replicas: number;
  timeoutMs: number;
}

/** The `WAIT` of every batch under `config` (undefined for `acks: 'leader'`): half a request deadline. */
export function waitArgs(config: { acks: 'leader' | 'all'; ackReplicas: number; requestTimeoutMs: number }): WaitArgs | undefined {
  return config.acks === 'all' ? { replicas: config.ackReplicas, timeoutMs: Math.max(1, Math.floor(config.requestTimeoutMs / 2)) } : undefined;
}

export type { PublishReply } from './batch-codec.js';

export interface Scripts {
  /**
   * `lua/publish-batch.lua`: XADDs the `recordCount` records of `encoded` (from `encodeBatch`) to
   * `stream`, at most once per (producer, seq) when `idem` is given.
   */
  publishBatch(stream: string, trim: TrimArgs, idem: IdempotenceArgs | undefined, recordCount: number, encoded: (string | Buffer | number)[], wait?: WaitArgs): Promise<PublishReply>;
  /** `lua/check-batch.lua`: did batch `seq` land? If not, fences it so it never will. */
  checkBatch(stateKey: string, seq: number, stateTtlMs: number): Promise<boolean>;
  /** `lua/ensure-topic.lua`: stores `shards` for the topic if unset; returns the stored count. */
  ensureTopic(metaKey: string, shards: number): Promise<number>;
}

/** KEYS then ARGV of one `publish-batch.lua` call (see the script's header); `records` is spread. */
export function publishBatchArgs(stream: string, trim: TrimArgs, idem: IdempotenceArgs | undefined, recordCount: number, records: (string | Buffer | number)[]) {
  return idem === undefined
    ? [stream, unusedStateKey(stream), trim[0], trim[1], trim[2], '', 0, 0, recordCount, records]
    : [stream, idem.stateKey, trim[0], trim[1], trim[2], '1', idem.seq, idem.stateTtlMs, recordCount, records];
}

/**
 * The scripts on `client`. `onBadReply(stream)` hears of replies of the wrong shape on the
 * connection that serves `stream`: they mean its replies no longer line up with its calls.
 */
export function loadScripts(client: Redis | Cluster, onBadReply: (stream: string) => void = () => {}): Scripts {
  const publishName = commandName(client, 'publish-batch');
  const publish = registerScript(client, 'publish-batch');
  const check = script(client, 'check-batch');
  const ensure = script(client, 'ensure-topic');
  const parse = (stream: string, reply: unknown, recordCount: number): PublishReply => {
    try {
      return decodeReply(reply, recordCount);
    } catch (err) {
      onBadReply(stream);
      // The script ran and answered: whatever it wrote may be in the stream.
      throw new DeliveryError((err as Error).message, 'ERR_BAD_REPLY', { retriable: false, persisted: 'possibly', cause: err });
    }
  };
  // What each node last said about its replicas. WAIT holds its connection until it times out, and
  // the producer has one connection per node: a WAIT per batch against a master without enough
  // replicas would queue every other call to that node behind it. So a node not known to have
  // enough replicas online is asked (INFO replication, instead of WAIT): while it has too few, its
  // batches fail fast and retriably; once it has enough, WAIT follows on the same connection.
  const replicasOk = new Set<string>();
  // Nodes whose WAIT fell short recently: their batches fail fast until then, without INFO or WAIT,
  // so a replica that says "online" but does not acknowledge (still syncing) cannot make every
  // batch block the connection again.
  const shortUntil = new Map<string, number>();
  type Pipeline = Record<string, (...a: unknown[]) => unknown> & { call(...a: unknown[]): unknown; get(key: string): unknown; exec(): Promise<[Error | null, unknown][] | null> };
  const run = async (build: (p: Pipeline) => void): Promise<[[Error | null, unknown], [Error | null, unknown]]> => {
    const pipeline = client.pipeline() as unknown as Pipeline;
    build(pipeline);
    const replies = await pipeline.exec();
    if (replies === null || replies.length !== 2) throw new DeliveryError('publish-batch with WAIT got no reply', 'ERR_BAD_REPLY', { retriable: true, persisted: 'possibly', cause: undefined });
    return replies as [[Error | null, unknown], [Error | null, unknown]];
  };
  const badPipelineReply = (stream: string) => {
    onBadReply(stream);
    return new DeliveryError('publish-batch with WAIT got replies of the wrong shape', 'ERR_BAD_REPLY', { retriable: true, persisted: 'possibly', cause: undefined });
  };
  const notEnough = (reason: string, cause?: Error) => new DeliveryError(reason, 'ERR_NOT_ENOUGH_REPLICAS', { retriable: true, persisted: 'possibly', cause });
  return {
    publishBatch: async (stream, trim, idem, recordCount, encoded, wait) => {
      const args = publishBatchArgs(stream, trim, idem, recordCount, encoded);
      if (wait === undefined) return parse(stream, await publish(...args), recordCount);
      const node = nodeOfKey(client, stream);
      const known = replicasOk.has(node);
      const quietUntil = shortUntil.get(node);
      if (!known && quietUntil !== undefined && Date.now() < quietUntil) {
        // Nothing is sent: the batch is not written by this attempt.
        throw new DeliveryError('too few replicas acknowledged the last batch on this node; trying again shortly', 'ERR_NOT_ENOUGH_REPLICAS', { retriable: true, persisted: 'not', cause: undefined });
      }
      // One pipeline, so WAIT (or INFO) runs on the connection (and, on a cluster, the node) that ran the script.
      const [[scriptError, reply], [followError, follow]] = await run((p) => {
        p[publishName]!(...args);
        if (known) p.call('WAIT', wait.replicas, wait.timeoutMs);
        else p.call('INFO', 'replication');
      });
      if (scriptError) {
        // ioredis follows a redirection of a pipeline only when every command got it; WAIT (no
        // key) did not, so refresh the slot map here or every retry goes to the stale node.
        if ('refreshSlotsCache' in client && /^(MOVED|ASK|CLUSTERDOWN)\b/.test(scriptError.message)) client.refreshSlotsCache();
        throw scriptError;
      }
      let acked = follow;
      let waitError = followError;
      if (!known) {
        // A reply that is not INFO's text means the pipeline's replies are not what was sent.
        if (!followError && (typeof follow !== 'string' || !follow.includes('role:'))) throw badPipelineReply(stream);
        const online = followError ? undefined : onlineReplicas(follow as string);
        if (online === undefined || online < wait.replicas) throw notEnough(`${online ?? 'an unknown number of'} replica(s) online, ${wait.replicas} needed`, followError ?? undefined);
        replicasOk.add(node);
        // Enough replicas: WAIT now, on the same connection (a keyed read routes it to the same node).
        [, [waitError, acked]] = await run((p) => {
          p.get(idem?.stateKey ?? unusedStateKey(stream));
          p.call('WAIT', wait.replicas, wait.timeoutMs);
        });
      }
      if (!waitError && typeof acked !== 'number') throw badPipelineReply(stream);
      if (waitError || (acked as number) < wait.replicas) {
        // The script ran: the batch is on the master, not (yet) on enough replicas, and a
        // failover now could lose it. Retrying is safe (idempotent) and asks again, later.
        replicasOk.delete(node);
        shortUntil.set(node, Date.now() + wait.timeoutMs);
        const reason = waitError ? `WAIT failed: ${waitError.message}` : `WAIT reached ${String(acked)} of ${wait.replicas} replica(s) within ${wait.timeoutMs} ms`;
        throw notEnough(reason, waitError ?? undefined);
      }
      return parse(stream, reply, recordCount);
    },
    checkBatch: async (stateKey, seq, stateTtlMs) => (await check({ state: stateKey, landed: landedKey(stateKey) }, seq, stateTtlMs)) === 1,
    ensureTopic: (metaKey, shards) => ensure({ meta: metaKey }, shards) as Promise<number>,
  };
}

/** Replicas an `INFO replication` reply lists as online (`slaveN:…,state=online,…`). */
export function onlineReplicas(info: string): number {
  return info.split(/\r?\n/).filter((line) => /^slave\d+:.*\bstate=online\b/.test(line)).length;
}
