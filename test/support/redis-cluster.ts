/**
 * Starts a real Redis Cluster for tests: one `redis-server` per node on free loopback
 * ports, each in its own temp dir, joined with `redis-cli --cluster create`. Nodes can be killed and
 * restarted (same port, dir and nodes.conf) to fail a master over.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { CLI_BIN, freePort, SERVER_BIN, waitForPong } from './redis-server.js';

const HOST = '127.0.0.1';
const SLOTS = 16_384;

export interface ClusterNodeProcess {
  port: number;
  /** The node's own directory (AOF, nodes-<port>.conf, redis.log). */
  dir: string;
  /** The current process (a new one after `restart()`). */
  readonly process: ChildProcess;
  /** What the node says it is now (`ROLE`). */
  role(): Promise<'master' | 'replica'>;
  /** Sends `signal` (default SIGTERM) and waits for the process to exit. A no-op when it is not running. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the node again on the same port and dir (so the same nodes.conf and AOF); waits for PONG. */
  restart(): Promise<void>;
}

export interface RedisClusterHandle {
  /** All processes as created: the first `masters` were created as masters, the rest as their replicas. */
  nodes: ClusterNodeProcess[];
  /** What a client gets as `new Cluster(startupNodes)`. */
  startupNodes: { host: string; port: number }[];
  /**
   * Resolves when every live node (process running) says `cluster_state:ok` with all 16384 slots ok,
   * all live nodes agree on which port serves which slot, every master in that map is live, and every
   * live replica's replication link is up. Throws after `timeoutMs` with what each node said last.
   */
  waitUntilOk(timeoutMs?: number): Promise<void>;
  /** The current master ports (from `CLUSTER SLOTS` of a live node), sorted. */
  masters(): Promise<number[]>;
  /** Port of the master that serves `slot` now (from `CLUSTER SLOTS` of a live node). */
  masterOfSlot(slot: number): Promise<number>;
  /** Kills all processes (SIGKILL, waiting for each to exit) and removes their dirs. */
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  /** Number of masters (default 3; redis-cli needs at least 3). */
  masters?: number;
  /** Replicas per master (default 1). */
  replicasPerMaster?: number;
  /** `cluster-node-timeout` (default 1000 ms, so failovers take about two seconds). */
  nodeTimeoutMs?: number;
  /** Extra config flags for every node, e.g. `['--cluster-require-full-coverage', 'no']`. */
  extraArgs?: string[];
}

const isRunning = (child: ChildProcess): boolean => child.exitCode === null && child.signalCode === null;

const exitOf = (child: ChildProcess): Promise<void> => (isRunning(child) ? new Promise((resolve) => child.once('exit', () => resolve())) : Promise.resolve());

/** Runs one command on one node over a short-lived connection that never retries (the node may be down or paused). */
export async function nodeCommand(port: number, command: string, ...args: (string | number)[]): Promise<unknown> {
  const client = new Redis({
    host: HOST,
    port,
    lazyConnect: true,
    connectTimeout: 1_000,
    commandTimeout: 2_000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return await client.call(command, ...args);
  } finally {
    client.disconnect();
  }
}

type SlotRange = { start: number; end: number; port: number };

function parseSlots(reply: unknown): SlotRange[] {
  const ranges = (reply as [number, number, [string, number, ...unknown[]], ...unknown[]][]).map(([start, end, master]) => ({
    start: Number(start),
    end: Number(end),
    port: Number(master[1]),
  }));
  return ranges.sort((a, b) => a.start - b.start);
}

/** `INFO` / `CLUSTER INFO` text as field → value. */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

/** Distinct free loopback ports (the OS may hand the same one out twice in a row). */
async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

function logTail(dir: string, lines = 15): string {
  try {
    return readFileSync(join(dir, 'redis.log'), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Our nodes have no password: an inherited REDISCLI_AUTH would make redis-cli fail to AUTH. */
function withoutAuth(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { REDISCLI_AUTH: _ignored, ...rest } = env;
  return rest;
}

class NodeProcess implements ClusterNodeProcess {
  private child!: ChildProcess;

  constructor(
    readonly port: number,
    private readonly busPort: number,
    readonly dir: string,
    private readonly args: string[],
  ) {}

  get process(): ChildProcess {
    return this.child;
  }

  get running(): boolean {
    return this.child !== undefined && isRunning(this.child);
  }

  async start(): Promise<void> {
    if (this.running) throw new Error(`cluster node ${this.port} is still running`);
    // The bus port is chosen explicitly: the default port + 10000 may be taken or above 65535.
    const child = spawn(
      SERVER_BIN,
      ['--port', String(this.port), '--cluster-port', String(this.busPort), '--dir', this.dir, '--logfile', join(this.dir, 'redis.log'), ...this.args],
      // Its own process group, like redis-server.ts; the exit hook still kills it when this process ends.
      { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
    );
    this.child = child;
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.off('exit', killOnExit));
    let stderr = '';
    child.stderr?.on('data', (d) => (stderr += d));
    try {
      await Promise.race([
        waitForPong(HOST, this.port),
        exitOf(child).then(() => {
          throw new Error(`cluster node redis-server on port ${this.port} exited at start: ${stderr.trim()}\n${logTail(this.dir)}`);
        }),
      ]);
    } catch (err) {
      child.kill('SIGKILL');
      await exitOf(child);
      throw err;
    }
  }

  async role(): Promise<'master' | 'replica'> {
    const reply = (await nodeCommand(this.port, 'ROLE')) as [string, ...unknown[]];
    return reply[0] === 'master' ? 'master' : 'replica';
  }

  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.running) return;
    const exited = exitOf(this.child);
    this.child.kill(signal);
    await exited;
  }

  restart(): Promise<void> {
    return this.start();
  }

  /**
   * SIGKILL: the dirs are removed right after, so there is nothing to save, and on SIGTERM a master
   * waits up to `shutdown-timeout` (10 s) for replicas that may already be gone. Also ends a paused node.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    const exited = exitOf(this.child);
    this.child.kill('SIGKILL');
    await exited;
  }
}

/** Starts `masters × (1 + replicasPerMaster)` nodes, creates the cluster and waits until it is ok. */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const masterCount = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 1;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1_000;
  const total = masterCount * (1 + replicas);

  const root = mkdtempSync(join(tmpdir(), 'rsp-cluster-'));
  const ports = await distinctFreePorts(total * 2);
  const args = [
    '--bind',
    HOST,
    '--protected-mode',
    'no',
    '--cluster-enabled',
    'yes',
    '--cluster-node-timeout',
    String(nodeTimeoutMs),
    '--appendonly',
    'yes',
    '--appendfsync',
    'everysec',
    '--save',
    '',
    // A replica's first sync starts at once instead of after the default 5 s wait for more replicas.
    '--repl-diskless-sync-delay',
    '0',
    ...(options.extraArgs ?? []),
  ];
  const nodes = ports.slice(0, total).map((port, i) => {
    const dir = join(root, String(port));
    mkdirSync(dir);
    return new NodeProcess(port, ports[total + i]!, dir, ['--cluster-config-file', `nodes-${port}.conf`, ...args]);
  });

  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.stop()));
    rmSync(root, { recursive: true, force: true });
  };

  const live = () => nodes.filter((n) => n.running);

  const slotMap = async (): Promise<SlotRange[]> => {
    let lastError: unknown = new Error('no cluster node is running');
    for (const n of live()) {
      try {
        return parseSlots(await nodeCommand(n.port, 'CLUSTER', 'SLOTS'));
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError;
  };

  /** Why the cluster is not ok yet, or `undefined` when it is. */
  const notOkReason = async (): Promise<string | undefined> => {
    const alive = live();
    if (alive.length === 0) return 'no cluster node is running';
    const livePorts = new Set(alive.map((n) => n.port));
    const reasons: string[] = [];
    const maps = new Map<string, number[]>();
    await Promise.all(
      alive.map(async (n) => {
        try {
          const [info, slots, replication] = await Promise.all([
            nodeCommand(n.port, 'CLUSTER', 'INFO').then((r) => parseInfo(String(r))),
            nodeCommand(n.port, 'CLUSTER', 'SLOTS').then(parseSlots),
            nodeCommand(n.port, 'INFO', 'replication').then((r) => parseInfo(String(r))),
          ]);
          if (info.cluster_state !== 'ok' || info.cluster_slots_ok !== String(SLOTS)) {
            reasons.push(
              `${n.port}: cluster_state:${info.cluster_state} cluster_slots_ok:${info.cluster_slots_ok} cluster_slots_pfail:${info.cluster_slots_pfail} cluster_slots_fail:${info.cluster_slots_fail}`,
            );
          }
          const dead = slots.filter((r) => !livePorts.has(r.port)).map((r) => r.port);
          if (dead.length) reasons.push(`${n.port}: slots still served by stopped node(s) ${[...new Set(dead)].join(', ')}`);
          if (replication.role === 'slave' && replication.master_link_status !== 'up') {
            reasons.push(`${n.port}: replica of ${replication.master_port}, link ${replication.master_link_status}`);
          }
          const key = slots.map((r) => `${r.start}-${r.end}@${r.port}`).join(' ');
          maps.set(key, [...(maps.get(key) ?? []), n.port]);
        } catch (err) {
          reasons.push(`${n.port}: ${(err as Error).message}`);
        }
      }),
    );
    if (maps.size > 1) {
      reasons.push(`nodes disagree on the slot map: ${[...maps].map(([map, ps]) => `[${ps.join(',')}] ${map}`).join(' | ')}`);
    }
    return reasons.length ? reasons.sort().join('\n') : undefined;
  };

  const waitUntilOk = async (timeoutMs = 20_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const reason = await notOkReason();
      if (reason === undefined) return;
      if (Date.now() > deadline) throw new Error(`Redis Cluster not ok after ${timeoutMs} ms:\n${reason}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  try {
    await Promise.all(nodes.map((n) => n.start()));
    const output = await new Promise<string>((resolve, reject) => {
      execFile(
        CLI_BIN,
        ['--cluster', 'create', ...nodes.map((n) => `${HOST}:${n.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'],
        { timeout: 30_000, env: withoutAuth(process.env) },
        (err, stdout, stderr) => {
          // biome-ignore lint/suspicious/noControlCharactersInRegex: strips redis-cli's colour codes
          const text = `${stdout}${stderr}`.replace(/\x1b\[[0-9;]*m/g, '').trim();
          // redis-cli reports some failures ("[ERR] ...") and still exits 0.
          if (err || /\[ERR\]/.test(text)) reject(new Error(`redis-cli --cluster create failed${err ? ` (${err.message.split('\n')[0]})` : ''}:\n${text}`));
          else resolve(text);
        },
      );
    });
    try {
      await waitUntilOk(Math.max(15_000, nodeTimeoutMs * 10));
    } catch (err) {
      throw new Error(`${(err as Error).message}\nredis-cli said:\n${output}`);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    nodes,
    startupNodes: nodes.map((n) => ({ host: HOST, port: n.port })),
    waitUntilOk,
    async masters() {
      return [...new Set((await slotMap()).map((r) => r.port))].sort((a, b) => a - b);
    },
    async masterOfSlot(slot: number) {
      const range = (await slotMap()).find((r) => r.start <= slot && slot <= r.end);
      if (!range) throw new Error(`no master serves slot ${slot}`);
      return range.port;
    },
    stop,
  };
}
