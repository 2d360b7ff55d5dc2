/**
 * The servers a chaos run produces into, started once and reused across rounds (each round has its
 * own namespace, and its keys are flushed after its checks): a standalone `redis-server` with an AOF
 * (so a SIGKILL and restart keeps the data) reached through a fresh FaultProxy per round, and a
 * 3-master + 3-replica cluster. A round that leaves a server broken gets it restarted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { FaultProxy } from '../test/support/fault-proxy.js';
import { nodeCommand, startRedisCluster, type RedisClusterHandle } from '../test/support/redis-cluster.js';
import { freePort, startRedisServer, waitForPong, type ServerProcess } from '../test/support/redis-server.js';

export const HOST = '127.0.0.1';
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const running = (s: ServerProcess | undefined) => s !== undefined && s.process.exitCode === null && s.process.signalCode === null;

export class StandaloneEnv {
  readonly kind = 'standalone';
  proxy: FaultProxy | undefined;
  private server: ServerProcess | undefined;
  private restarting: Promise<void> | undefined;

  private constructor(
    readonly port: number,
    /** Outlives each process: the AOF a restart loads. */
    readonly dir: string,
  ) {}

  static async start(): Promise<StandaloneEnv> {
    const env = new StandaloneEnv(await freePort(), mkdtempSync(join(tmpdir(), 'rsp-chaos-redis-')));
    await env.launch();
    return env;
  }

  private async launch(): Promise<void> {
    // startRedisServer makes (and on stop removes) a dir of its own; ours, given by --dir, wins.
    this.server = await startRedisServer(['--dir', this.dir, '--appendonly', 'yes', '--appendfsync', 'everysec'], this.port);
  }

  get alive(): boolean {
    return running(this.server);
  }

  signal(sig: NodeJS.Signals): void {
    if (running(this.server)) this.server!.process.kill(sig);
  }

  /** SIGKILL, and wait for the process to be gone. */
  async kill(): Promise<void> {
    const s = this.server;
    if (!running(s)) return;
    const exited = new Promise<void>((resolve) => s!.process.once('exit', () => resolve()));
    s!.process.kill('SIGKILL');
    await exited;
    await s!.stop(); // removes its own (empty) temp dir
  }

  /** Starts the server again on the same port and dir, unless it runs. */
  restart(): Promise<void> {
    this.restarting ??= (async () => {
      if (!running(this.server)) await this.launch();
    })().finally(() => (this.restarting = undefined));
    return this.restarting;
  }

  /** A proxy for the round's producer; the checks talk to the server directly. */
  async newProxy(): Promise<FaultProxy> {
    await this.proxy?.stop();
    this.proxy = await FaultProxy.start({ host: HOST, port: this.port });
    return this.proxy;
  }

  /** Everything back to normal: running, not paused, writable, proxy passing. */
  async heal(): Promise<void> {
    this.proxy?.pass();
    this.signal('SIGCONT');
    await this.restart();
    await waitForPong(HOST, this.port, 30_000);
    await nodeCommand(this.port, 'CONFIG', 'SET', 'maxmemory', '0');
    await nodeCommand(this.port, 'CONFIG', 'SET', 'min-replicas-to-write', '0');
  }

  admin(): Redis {
    const client = new Redis({ host: HOST, port: this.port, maxRetriesPerRequest: 3 });
    client.on('error', () => {});
    return client;
  }

  async flushAll(): Promise<void> {
    await nodeCommand(this.port, 'FLUSHALL');
  }

  async stop(): Promise<void> {
    await this.proxy?.stop();
    this.signal('SIGCONT');
    await this.server?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class ClusterEnv {
  readonly kind = 'cluster';
  private constructor(public handle: RedisClusterHandle) {}

  static async start(): Promise<ClusterEnv> {
    return new ClusterEnv(await startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1_000 }));
  }

  get startupNodes(): { host: string; port: number }[] {
    return this.handle.startupNodes;
  }

  isAlive(port: number): boolean {
    const n = this.handle.nodes.find((x) => x.port === port);
    return n !== undefined && n.process.exitCode === null && n.process.signalCode === null;
  }

  admin(): Cluster {
    const client = new Cluster(this.startupNodes, { redisOptions: { maxRetriesPerRequest: 3 } });
    client.on('error', () => {});
    return client;
  }

  /** Every node running again (a killed master comes back as a replica) and the cluster ok. */
  async heal(timeoutMs = 30_000): Promise<void> {
    for (const n of this.handle.nodes) {
      // A restart can fail for reasons of the machine (a port still held): try again a few times.
      for (let attempt = 1; !this.isAlive(n.port); attempt++) {
        try {
          await n.restart();
        } catch (err) {
          if (attempt >= 3) throw err;
          await sleep(500);
        }
      }
    }
    await this.handle.waitUntilOk(timeoutMs);
    // A no-replicas fault cut short (its master killed or failed over) must not outlive the round.
    for (const n of this.handle.nodes) await nodeCommand(n.port, 'CONFIG', 'SET', 'min-replicas-to-write', '0');
  }

  async flushAll(): Promise<void> {
    for (const port of await this.handle.masters()) await nodeCommand(port, 'FLUSHALL');
  }

  /** A new cluster, when a round left this one beyond healing. */
  async replace(): Promise<void> {
    await this.handle.stop();
    this.handle = await startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1_000 });
  }

  stop(): Promise<void> {
    return this.handle.stop();
  }
}

export type Env = StandaloneEnv | ClusterEnv;
