/**
 * A fault-injecting TCP proxy for the fault tests: clients connect to `proxy.url`,
 * the proxy forwards to a real Redis, and a test can delay, black-hole, cut or refuse connections,
 * or let a command run in Redis while its reply is lost. `node:net` only.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

type Mode = 'pass' | 'blackhole' | 'refuse';

/** Bytes held per direction above which the sender is paused, so a long black-hole can't eat memory. */
const HIGH_WATER = 1 << 20;

/** One direction of a connection pair. Chunks go through a queue so that delays keep byte order. */
interface Flow {
  from: Socket;
  to: Socket;
  queue: { chunk: Buffer; due: number }[];
  queuedBytes: number;
  /** `from` has closed: end `to` once the queue is flushed (so e.g. QUIT's reply still arrives). */
  ended: boolean;
  timer: NodeJS.Timeout | undefined;
  waitingForDrain: boolean;
}

interface Pair {
  client: Socket;
  server: Socket;
  /** Half-open: this pair forwards nothing ever again (see stallOpen). */
  stalled: boolean;
  up: Flow; // client → server
  down: Flow; // server → client
  /** Set by loseNextReply once the matching command was written to Redis: drop the next reply, then cut. */
  onLostReply: (() => void) | undefined;
}

const noop = () => {};

export class FaultProxy {
  readonly port: number;
  readonly url: string;
  private mode: Mode = 'pass';
  private delayMs = 0;
  private readonly pairs = new Set<Pair>();
  /** A loseNextReply that waits for its command; bound to a pair once that command is forwarded. */
  private armedLoss: { match: string | undefined; resolve: () => void } | undefined;
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly server: Server,
    private readonly target: { host: string; port: number },
  ) {
    const address = server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    this.url = `redis://127.0.0.1:${this.port}`;
    server.on('connection', (client) => this.accept(client));
  }

  static start(target: { host: string; port: number }): Promise<FaultProxy> {
    return new Promise((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        server.on('error', noop); // accept errors (e.g. EMFILE) must not crash the test process
        resolve(new FaultProxy(server, target));
      });
    });
  }

  /** Number of currently open client connections. */
  get connections(): number {
    let n = 0;
    for (const p of this.pairs) if (!p.client.destroyed) n++;
    return n;
  }

  /** Normal forwarding (the default). Ends blackhole and refuse modes and any delay; held bytes flow again. */
  pass(): void {
    this.mode = 'pass';
    this.delayMs = 0;
    this.pumpAll();
  }

  /** Adds `ms` of delay to every chunk in both directions (0 = none). Chunks already queued keep theirs. */
  delay(ms: number): void {
    this.delayMs = Math.max(0, ms);
  }

  /**
   * A network partition: connections stay open but nothing is forwarded either way; new connections are
   * accepted and black-holed too. Bytes are held, not dropped (like TCP retransmitting), so if pass() comes
   * before a client gives up, its connection carries on intact.
   */
  blackhole(): void {
    this.mode = 'blackhole';
  }

  /**
   * Half-open connections: the connections open now forward nothing more, either way, and are never
   * closed (as when a NAT or a firewall drops their state without a reset); new connections pass.
   */
  stallOpen(): void {
    for (const p of this.pairs) p.stalled = true;
  }

  /** Destroys every current connection now (both sockets of each pair). The mode is kept. */
  cutAll(): void {
    for (const p of this.pairs) this.destroyPair(p);
  }

  /** Resets new connections at once (the client sees ECONNRESET / close) until pass(). */
  refuse(): void {
    this.mode = 'refuse';
  }

  /**
   * A lost reply: the next client→server chunk containing `match` (case-insensitive; any chunk when
   * omitted) is forwarded to Redis; the next server→client data on that connection is dropped and the
   * connection destroyed. Resolves once that happened (stays pending if that connection closes first).
   * One-shot: the mode is left as it was.
   */
  loseNextReply(match?: string): Promise<void> {
    if (this.armedLoss) throw new Error('FaultProxy: loseNextReply is already armed');
    return new Promise((resolve) => {
      this.armedLoss = { match: match?.toLowerCase(), resolve };
    });
  }

  /** Closes the listener and all connections. A pending loseNextReply promise stays pending. */
  stop(): Promise<void> {
    this.stopping ??= new Promise((resolve) => {
      // server.close() waits for open connections, so destroy them all first.
      this.server.close(() => resolve());
      this.cutAll();
    });
    return this.stopping;
  }

  private accept(client: Socket): void {
    client.on('error', noop); // 'close' follows; an ECONNRESET must not become an uncaught error
    if (this.mode === 'refuse' || this.stopping) {
      client.resetAndDestroy();
      return;
    }
    const server = this.connectTarget();
    const pair: Pair = { client, server, stalled: false, up: flow(client, server), down: flow(server, client), onLostReply: undefined };
    this.pairs.add(pair);
    client.setNoDelay(true);
    for (const [socket, f] of [
      [client, pair.up],
      [server, pair.down],
    ] as const) {
      socket.on('data', (chunk: Buffer) => this.receive(pair, f, chunk));
      // An error means the pair is broken; a clean close means flush what we hold, then end the other side.
      socket.on('error', () => this.destroyPair(pair));
      socket.on('close', () => {
        f.ended = true;
        this.pump(pair, f);
        if (client.destroyed && server.destroyed) this.forget(pair);
      });
    }
  }

  private connectTarget(): Socket {
    const socket = createConnection({ host: this.target.host, port: this.target.port, noDelay: true });
    socket.on('error', noop);
    return socket;
  }

  private receive(pair: Pair, f: Flow, chunk: Buffer): void {
    if (f === pair.down && pair.onLostReply) {
      // The reply the test wants lost: never deliver it, and cut so the client can't wait for it forever.
      const resolve = pair.onLostReply;
      pair.onLostReply = undefined;
      this.destroyPair(pair);
      resolve();
      return;
    }
    f.queue.push({ chunk, due: Date.now() + this.delayMs });
    f.queuedBytes += chunk.length;
    if (f.queuedBytes > HIGH_WATER) f.from.pause();
    this.pump(pair, f);
  }

  /** Writes every chunk that is due, in order; re-arms a timer for the next one. */
  private pump(pair: Pair, f: Flow): void {
    if (this.mode === 'blackhole' || pair.stalled || f.waitingForDrain || f.timer) return;
    if (f.to.destroyed) {
      f.queue = [];
      f.queuedBytes = 0;
      return;
    }
    while (f.queue.length > 0) {
      const head = f.queue[0]!;
      const wait = head.due - Date.now();
      if (wait > 0) {
        f.timer = setTimeout(() => {
          f.timer = undefined;
          this.pump(pair, f);
        }, wait);
        break;
      }
      f.queue.shift();
      f.queuedBytes -= head.chunk.length;
      if (f === pair.up) this.bindLoss(pair, head.chunk);
      if (!f.to.write(head.chunk)) {
        f.waitingForDrain = true;
        f.to.once('drain', () => {
          f.waitingForDrain = false;
          this.pump(pair, f);
        });
        break;
      }
    }
    if (f.queuedBytes <= HIGH_WATER && f.from.isPaused()) f.from.resume();
    if (f.ended && f.queue.length === 0 && !f.to.writableEnded) f.to.end();
  }

  /** Binds an armed loseNextReply to this pair when the matching command is actually sent to Redis. */
  private bindLoss(pair: Pair, chunk: Buffer): void {
    const armed = this.armedLoss;
    if (!armed || pair.onLostReply) return;
    if (armed.match !== undefined && !chunk.toString('latin1').toLowerCase().includes(armed.match)) return;
    this.armedLoss = undefined;
    pair.onLostReply = armed.resolve;
  }

  private pumpAll(): void {
    for (const p of this.pairs) {
      this.pump(p, p.up);
      this.pump(p, p.down);
    }
  }

  private destroyPair(pair: Pair): void {
    pair.client.destroy();
    pair.server.destroy();
    this.forget(pair);
  }

  private forget(pair: Pair): void {
    for (const f of [pair.up, pair.down]) {
      clearTimeout(f.timer);
      f.timer = undefined;
      f.queue = [];
      f.queuedBytes = 0;
    }
    this.pairs.delete(pair);
  }
}

function flow(from: Socket, to: Socket): Flow {
  return { from, to, queue: [], queuedBytes: 0, ended: false, timer: undefined, waitingForDrain: false };
}
