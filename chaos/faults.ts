/**
 * Runs a schedule's faults against the round's servers. Each fault starts at its time; faults that
 * take the server process or the cluster topology (EXCLUSIVE) also wait for the previous one to end,
 * since e.g. a failover on top of an unfinished one only tests the harness. Targets (which master,
 * which shard) are picked from the live topology with the fault's seeded `pick`.
 */
import { ClusterNodes, keySlot, migrateSlot } from '../src/admin/index.js';
import { nodeCommand, parseInfo } from '../test/support/redis-cluster.js';
import { EXCLUSIVE, faultLabel, type Fault, type Schedule } from './schedule.js';
import { type ClusterEnv, sleep, type Env, type StandaloneEnv } from './servers.js';

/** A kill that can lose acknowledged writes by design (AOF everysec, async replication). */
export interface KillMark {
  at: number;
  /** Cluster: the topic's shards the killed master served. Standalone: every shard. */
  shards: Set<number> | 'all';
}

export interface FaultRun {
  fault: Fault;
  label: string;
  startedAt: number | undefined;
  endedAt: number | undefined;
  /** What it did, or why it did nothing. */
  note: string;
}

export interface FaultContext {
  schedule: Schedule;
  namespace: string;
  topic: string;
  now: () => number;
  kills: KillMark[];
  /** A slot move that failed half way, for the heal to finish. */
  openMigrations: { slot: number; from: string; to: string }[];
}

const streamKey = (ctx: FaultContext, shard: number) => `{${ctx.namespace}:${ctx.topic}:${shard}}`;

/** Runs every fault at its time; resolves when all have ended. */
export async function runFaults(env: Env, ctx: FaultContext): Promise<FaultRun[]> {
  let exclusive: Promise<unknown> = Promise.resolve();
  const runs = ctx.schedule.faults.map((fault) => ({ fault, label: faultLabel(fault), startedAt: undefined, endedAt: undefined, note: '' }) as FaultRun);
  await Promise.all(
    runs.map(async (run) => {
      await sleep(Math.max(0, run.fault.at - ctx.now()));
      const go = async () => {
        run.startedAt = Math.round(ctx.now());
        try {
          run.note = (env.kind === 'standalone' ? await standaloneFault(env, run, ctx) : await clusterFault(env, run.fault, ctx)) ?? '';
        } catch (err) {
          run.note = `failed: ${(err as Error).message.split('\n')[0]}`;
        }
        run.endedAt = Math.round(ctx.now());
      };
      if (EXCLUSIVE.has(run.fault.kind)) {
        const mine = exclusive.then(go);
        exclusive = mine;
        await mine;
      } else {
        await go();
      }
    }),
  );
  return runs;
}

async function standaloneFault(env: StandaloneEnv, run: FaultRun, ctx: FaultContext): Promise<string | undefined> {
  const { fault } = run;
  const proxy = env.proxy!;
  switch (fault.kind) {
    case 'kill':
      ctx.kills.push({ at: ctx.now(), shards: 'all' });
      await env.kill();
      await sleep(fault.ms);
      await env.restart();
      return undefined;
    case 'stop':
      env.signal('SIGSTOP');
      await sleep(fault.ms);
      env.signal('SIGCONT');
      return undefined;
    case 'cut':
      proxy.cutAll();
      return `${proxy.connections} connection(s) after`;
    case 'half-open':
      // The open connections stop answering and are never closed; new ones pass.
      proxy.stallOpen();
      return `${proxy.connections} connection(s) stalled`;
    case 'blackhole':
      proxy.blackhole();
      await sleep(fault.ms);
      proxy.cutAll();
      proxy.pass();
      return undefined;
    case 'lose-reply': {
      // The reply of the next 1–3 script calls (any, or those on the compensation store's keys) is
      // lost, one after the other; the last may come during the drain, where replay bookkeeping runs.
      const match = fault.pick < 0.5 ? 'eval' : 'compensation';
      const times = 1 + (Math.floor(fault.pick * 1e6) % 3);
      const armedAt = ctx.now();
      const fired: string[] = [];
      let clash = '';
      const describe = () => `${match} ×${times}: ${fired.length ? `fired after ${fired.join(', ')}` : 'never fired'}${clash}`;
      void (async () => {
        for (let i = 0; i < times; i++) {
          await proxy.loseNextReply(match);
          fired.push(`${Math.round(ctx.now() - armedAt)}ms`);
          run.note = describe();
        }
      })().catch(() => {
        clash = '; the rest skipped: another lose-reply was armed';
        run.note = describe();
      });
      return describe();
    }
    case 'oom':
      await nodeCommand(env.port, 'CONFIG', 'SET', 'maxmemory', '1');
      await sleep(fault.ms);
      await nodeCommand(env.port, 'CONFIG', 'SET', 'maxmemory', '0');
      return undefined;
    case 'no-replicas':
      // Writes need a replica this server does not have: refused (NOREPLICAS) before running.
      await nodeCommand(env.port, 'CONFIG', 'SET', 'min-replicas-to-write', '1');
      await sleep(fault.ms);
      await nodeCommand(env.port, 'CONFIG', 'SET', 'min-replicas-to-write', '0');
      return undefined;
    case 'script-flush':
      await nodeCommand(env.port, 'SCRIPT', 'FLUSH');
      return undefined;
    case 'client-kill':
      return `killed ${String(await nodeCommand(env.port, 'CLIENT', 'KILL', 'TYPE', 'normal'))}`;
    default:
      throw new Error(`not a standalone fault: ${fault.kind}`);
  }
}

/** Live replicas whose replication link to a live master is up, with that master's port. */
async function healthyReplicas(env: ClusterEnv): Promise<{ port: number; master: number }[]> {
  const found = await replicasNow(env);
  // A client-kill running at the same time may have cut our own INFO calls: ask once more.
  if (found.length > 0) return found;
  await sleep(500);
  return replicasNow(env);
}

async function replicasNow(env: ClusterEnv): Promise<{ port: number; master: number }[]> {
  const out: { port: number; master: number }[] = [];
  for (const n of env.handle.nodes) {
    if (!env.isAlive(n.port)) continue;
    const info = parseInfo(String(await nodeCommand(n.port, 'INFO', 'replication').catch(() => '')));
    const master = Number(info.master_port);
    if (info.role === 'slave' && info.master_link_status === 'up' && env.isAlive(master)) out.push({ port: n.port, master });
  }
  return out.sort((a, b) => a.port - b.port);
}

async function shardsOn(env: ClusterEnv, ctx: FaultContext, port: number): Promise<Set<number>> {
  const shards = new Set<number>();
  for (let s = 0; s < ctx.schedule.shards; s++) {
    if ((await env.handle.masterOfSlot(keySlot(streamKey(ctx, s)))) === port) shards.add(s);
  }
  return shards;
}

const nth = <T>(items: readonly T[], pick: number): T => items[Math.floor(pick * items.length)]!;

async function clusterFault(env: ClusterEnv, fault: Fault, ctx: FaultContext): Promise<string | undefined> {
  const cluster = env.handle;
  switch (fault.kind) {
    case 'kill-master': {
      // Only a master with a replica to promote: otherwise its slots are gone until the heal.
      const masters = [...new Set((await healthyReplicas(env)).map((r) => r.master))].sort((a, b) => a - b);
      if (masters.length === 0) return 'skipped: no master with a healthy replica';
      const port = nth(masters, fault.pick);
      const shards = await shardsOn(env, ctx, port);
      const killedAt = ctx.now();
      ctx.kills.push({ at: killedAt, shards });
      await cluster.nodes.find((n) => n.port === port)!.kill('SIGKILL');
      if (fault.ms > 0) {
        await sleep(Math.max(0, fault.ms - (ctx.now() - killedAt)));
        await cluster.nodes.find((n) => n.port === port)!.restart();
      }
      await cluster.waitUntilOk(20_000);
      return `killed master ${port} (shards ${[...shards].join(',') || 'none'})${fault.ms > 0 ? ', restarted' : ''}; ok after ${Math.round(ctx.now() - killedAt)}ms`;
    }
    case 'failover': {
      const replicas = await healthyReplicas(env);
      if (replicas.length === 0) return 'skipped: no healthy replica';
      const { port, master } = nth(replicas, fault.pick);
      const started = ctx.now();
      await nodeCommand(port, 'CLUSTER', 'FAILOVER');
      const deadline = Date.now() + 15_000;
      while (
        (await cluster.nodes
          .find((n) => n.port === port)!
          .role()
          .catch(() => 'replica')) !== 'master'
      ) {
        if (Date.now() > deadline) return `replica ${port} of ${master} not promoted after 15 s`;
        await sleep(50);
      }
      await cluster.waitUntilOk(20_000);
      return `replica ${port} took over from ${master} in ${Math.round(ctx.now() - started)}ms`;
    }
    case 'migrate': {
      const shard = Math.floor(fault.pick * ctx.schedule.shards);
      const slot = keySlot(streamKey(ctx, shard));
      const from = await cluster.masterOfSlot(slot);
      const others = (await cluster.masters()).filter((p) => p !== from);
      const to = nth(others, (fault.pick * 7919) % 1);
      const admin = env.admin();
      try {
        const nodes = await ClusterNodes.load(admin);
        try {
          const idOf = (port: number) => nodes.nodes.find((n) => n.port === port)!.id;
          const transfer = { slot, from: idOf(from), to: idOf(to) };
          ctx.openMigrations.push(transfer);
          let split = false;
          const moved = await migrateSlot(nodes, transfer, {
            keysPerMigrate: 1,
            // Held after the first key moved: the stream and the producer state are on different nodes.
            onStep: async (step) => {
              if (step.step === 'keys-moved' && !split) {
                split = true;
                await sleep(fault.ms);
              }
            },
          });
          ctx.openMigrations.splice(ctx.openMigrations.indexOf(transfer), 1);
          return `shard ${shard} slot ${slot} ${from} → ${to}, ${moved} key(s)`;
        } finally {
          nodes.close();
        }
      } finally {
        admin.disconnect();
      }
    }
    case 'no-replicas': {
      // One master wants more replicas than it has: its shards' writes are refused (NOREPLICAS).
      const masters = await cluster.masters();
      const port = nth(masters, fault.pick);
      const shards = await shardsOn(env, ctx, port);
      await nodeCommand(port, 'CONFIG', 'SET', 'min-replicas-to-write', '2');
      await sleep(fault.ms);
      await nodeCommand(port, 'CONFIG', 'SET', 'min-replicas-to-write', '0');
      return `master ${port} (shards ${[...shards].join(',') || 'none'})`;
    }
    case 'client-kill': {
      let killed = 0;
      for (const n of cluster.nodes) {
        if (env.isAlive(n.port)) killed += Number(await nodeCommand(n.port, 'CLIENT', 'KILL', 'TYPE', 'normal').catch(() => 0));
      }
      return `killed ${killed}`;
    }
    default:
      throw new Error(`not a cluster fault: ${fault.kind}`);
  }
}

/**
 * Finishes slot moves a fault left half done: running the same move again resumes it, unless the
 * target already owns the slot (only the last SETSLOT NODE calls were cut), then those are repeated.
 */
export async function finishMigrations(env: ClusterEnv, ctx: FaultContext): Promise<void> {
  if (ctx.openMigrations.length === 0) return;
  const admin = env.admin();
  try {
    const nodes = await ClusterNodes.load(admin);
    try {
      for (const t of ctx.openMigrations.splice(0)) {
        const owner = nodes.nodes.find((n) => n.role === 'master' && n.slots.some(([a, b]) => a <= t.slot && t.slot <= b));
        if (owner?.id !== t.to) {
          await migrateSlot(nodes, t);
          continue;
        }
        const masters = nodes.nodes.filter((n) => n.role === 'master' && !n.flags.includes('fail'));
        await Promise.allSettled(masters.map((n) => nodes.call(n, 'CLUSTER', 'SETSLOT', t.slot, 'NODE', t.to)));
      }
    } finally {
      nodes.close();
    }
  } finally {
    admin.disconnect();
  }
}
