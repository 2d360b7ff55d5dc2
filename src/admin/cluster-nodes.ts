/**
 * The nodes of a Redis Cluster as `CLUSTER NODES` describes them (ids, addresses, roles, slots,
 * half-migrated slots), and direct connections to them for admin commands that must reach one
 * particular node (`CLUSTER SETSLOT`, `MIGRATE`), which a routing `Cluster` client cannot do.
 */
import { type Cluster, Redis, type RedisOptions } from 'ioredis';
import { isCluster, isIoredisClient } from '../client-kind.js';
import { whenReady, withDeadline } from '../connection.js';
import { ClusterStateError } from './errors.js';
import { CLUSTER_SLOTS } from './key-slot.js';

/** One node of the cluster. */
export interface ClusterNodeInfo {
  id: string;
  /** Address the cluster announces (what other nodes use, so what `MIGRATE` needs). */
  host: string;
  port: number;
  flags: string[];
  role: 'master' | 'replica';
  /** For a replica: its master's id. */
  masterId: string | undefined;
  /** Slot ranges served, inclusive: `[[0, 5460]]`. */
  slots: [number, number][];
  /** Slots this node is moving out: slot → destination id. */
  migrating: Map<number, string>;
  /** Slots this node is taking in: slot → source id. */
  importing: Map<number, string>;
}

/** `host:port` of a node, as people read it. */
export const nodeAddress = (node: Pick<ClusterNodeInfo, 'host' | 'port'>): string => `${node.host.includes(':') ? `[${node.host}]` : node.host}:${node.port}`;

/**
 * Parses a `CLUSTER NODES` reply. Each line: `<id> <ip:port@cport[,hostname]> <flags> <master>
 * <ping-sent> <pong-recv> <config-epoch> <link-state> <slot>…`, where a slot is `n`, `a-b`,
 * `[n->-id]` (migrating) or `[n-<-id]` (importing).
 */
export function parseClusterNodes(text: string): ClusterNodeInfo[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .map((line) => {
      const [id, address, flagText, master, , , , , ...slotFields] = line.split(' ');
      const hostPort = address!.split('@')[0]!;
      const colon = hostPort.lastIndexOf(':');
      const flags = flagText!.split(',');
      const node: ClusterNodeInfo = {
        id: id!,
        host: hostPort.slice(0, colon).replace(/^\[(.*)\]$/, '$1'),
        port: Number(hostPort.slice(colon + 1)),
        flags,
        role: flags.includes('master') ? 'master' : 'replica',
        masterId: master === '-' ? undefined : master,
        slots: [],
        migrating: new Map(),
        importing: new Map(),
      };
      for (const field of slotFields) {
        const open = /^\[(\d+)-([<>])-([0-9a-f]+)\]$/.exec(field);
        if (open) (open[2] === '>' ? node.migrating : node.importing).set(Number(open[1]), open[3]!);
        else {
          const [from, to] = field.split('-').map(Number) as [number, number | undefined];
          node.slots.push([from, to ?? from]);
        }
      }
      return node;
    });
}

/** Flags that mean a node cannot take part in a slot move. */
const UNHEALTHY = ['fail', 'fail?', 'handshake', 'noaddr'];

/**
 * The masters of a parsed `CLUSTER NODES` and who owns each slot, after checking the cluster is
 * stable: every slot owned by a healthy master, no slot half-migrated. Throws `ClusterStateError`
 * otherwise (a balance on top of a failover or an unfinished reshard would make things worse).
 */
export function stableTopology(nodes: readonly ClusterNodeInfo[]): { masters: ClusterNodeInfo[]; ownerOf: (slot: number) => string } {
  const masters = nodes.filter((n) => n.role === 'master');
  const sick = masters.filter((n) => n.flags.some((f) => UNHEALTHY.includes(f)));
  if (sick.length > 0) throw new ClusterStateError(`Master(s) not healthy: ${sick.map((n) => `${nodeAddress(n)} (${n.flags.join(',')})`).join(', ')}; wait for the failover to finish`);
  const open = masters.flatMap((n) => [
    ...[...n.migrating].map(([slot, to]) => `slot ${slot} migrating from ${nodeAddress(n)} to ${to}`),
    ...[...n.importing].map(([slot, from]) => `slot ${slot} importing into ${nodeAddress(n)} from ${from}`),
  ]);
  if (open.length > 0) throw new ClusterStateError(`A slot migration is unfinished (${open.join('; ')}); finish it (run the same move again, or \`redis-cli --cluster fix\`) first`);
  const owners = new Array<string | undefined>(CLUSTER_SLOTS);
  for (const m of masters) for (const [from, to] of m.slots) owners.fill(m.id, from, to + 1);
  // biome-ignore lint/complexity/useIndexOf: indexOf skips the holes of a sparse array; findIndex sees them
  const uncovered = owners.findIndex((o) => o === undefined);
  if (uncovered >= 0) throw new ClusterStateError(`Slot ${uncovered} is not served by any master; fix the cluster (\`redis-cli --cluster fix\`) first`);
  return { masters, ownerOf: (slot) => owners[slot]! };
}

/** Options for the connections to single nodes. */
export interface ClusterNodesOptions {
  /** Deadline of every call, in ms (default 5000). */
  timeoutMs?: number;
}

/**
 * A snapshot of the cluster's nodes plus one direct connection per node, opened on first use with
 * the `Cluster` client's own `redisOptions` (credentials, TLS) and `natMap`. `close()` ends them.
 */
export class ClusterNodes {
  private readonly clients = new Map<string, Redis>();

  private constructor(
    private readonly cluster: Cluster,
    /** Every node, as the cluster described itself when loaded (or last refreshed). */
    public nodes: ClusterNodeInfo[],
    readonly timeoutMs: number,
  ) {}

  /** Reads `CLUSTER NODES` through `cluster` (which connects if it has not yet). */
  static async load(cluster: Cluster, options: ClusterNodesOptions = {}): Promise<ClusterNodes> {
    if (!(isIoredisClient(cluster) && isCluster(cluster))) throw new ClusterStateError('Expected an ioredis Cluster client: slot placement exists only on Redis Cluster');
    const timeoutMs = options.timeoutMs ?? 5_000;
    await whenReady(cluster, timeoutMs); // a lazy client without an offline queue would refuse the call
    const text = await withDeadline(cluster.cluster('NODES') as Promise<string>, timeoutMs, 'CLUSTER NODES');
    return new ClusterNodes(cluster, parseClusterNodes(text), timeoutMs);
  }

  /** Reads `CLUSTER NODES` again, from `from` (a node id; default: a master of the last snapshot). */
  async refresh(from?: string): Promise<void> {
    const source = from === undefined ? this.nodes.find((n) => n.role === 'master')! : this.node(from);
    this.nodes = parseClusterNodes(String(await this.call(source, 'CLUSTER', 'NODES')));
  }

  /** The node with this id, from the last snapshot. */
  node(id: string): ClusterNodeInfo {
    const node = this.nodes.find((n) => n.id === id);
    if (node === undefined) throw new ClusterStateError(`No cluster node has the id ${id}`);
    return node;
  }

  /** Runs one command on one node, with the deadline `timeoutMs`. */
  call(node: ClusterNodeInfo, command: string, ...args: (string | number)[]): Promise<unknown> {
    return this.callWithin(this.timeoutMs, node, command, ...args);
  }

  /** Runs one command on one node with its own deadline (for commands that wait on purpose, like MIGRATE). */
  callWithin(deadlineMs: number, node: ClusterNodeInfo, command: string, ...args: (string | number)[]): Promise<unknown> {
    return withDeadline(this.client(node).call(command, ...args), deadlineMs, `${command} ${String(args[0] ?? '')} on ${nodeAddress(node)}`);
  }

  /** `MIGRATE`'s credential arguments: what the cluster's clients authenticate with. */
  migrateAuth(): string[] {
    const { username, password } = this.redisOptions();
    if (password === undefined || password === '') return [];
    return username ? ['AUTH2', username, password] : ['AUTH', password];
  }

  /** Ends every connection this object opened (not the `Cluster` client). */
  close(): void {
    for (const client of this.clients.values()) client.disconnect();
    this.clients.clear();
  }

  private redisOptions(): RedisOptions {
    // A key prefix would be added to MIGRATE's key names, which come from the server already prefixed.
    const { keyPrefix: _keyPrefix, ...options } = this.cluster.options.redisOptions ?? {};
    return options;
  }

  private client(node: ClusterNodeInfo): Redis {
    let client = this.clients.get(node.id);
    if (client === undefined) {
      const { host, port } = this.reachable(node);
      client = new Redis({
        ...this.redisOptions(),
        host,
        port,
        lazyConnect: true,
        // Admin commands are safe to send once connected (each has its own deadline); never resent.
        enableOfflineQueue: true,
        autoResendUnfulfilledCommands: false,
        maxRetriesPerRequest: 0,
        connectTimeout: this.timeoutMs,
      });
      client.on('error', () => undefined); // failures surface through the calls
      this.clients.set(node.id, client);
    }
    return client;
  }

  /** Where this process reaches a node: its announced address, through the cluster's `natMap` if any. */
  private reachable(node: ClusterNodeInfo): { host: string; port: number } {
    const natMap = this.cluster.options.natMap;
    const key = `${node.host}:${node.port}`;
    const mapped = typeof natMap === 'function' ? natMap(key) : natMap?.[key];
    return mapped ?? { host: node.host, port: node.port };
  }
}
