import type { Cluster, Redis } from 'ioredis';
import { connectionAddress as address, isCluster, nodeOfKey } from './client-kind.js';

/**
 * Replaces a connection whose oldest call has waited longer than the request deadline, as Kafka
 * clients close a connection on a request timeout. Such a connection is half-open (a NAT or a
 * firewall dropped its state without a reset, so TCP may take minutes to notice) or its replies no
 * longer line up with its calls; either way every later call on it would fail or, worse, be
 * answered with another call's reply. Closing it costs only the calls in flight on it, which the
 * producer treats like any lost reply (retried idempotently, or "possibly persisted").
 *
 * Only clients the producer owns are watched: it sends nothing that blocks longer than half the
 * request deadline (its WAIT), while a caller's client may legitimately block (XREAD BLOCK).
 */
export class StalledConnectionWatch {
  private readonly heads = new WeakMap<Redis, { call: unknown; since: number }>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly client: Redis | Cluster,
    private readonly requestTimeoutMs: number,
    private readonly onReplace: (connection: string, why: string) => void,
    private readonly now: () => number = () => performance.now(),
  ) {
    // Checked four times per deadline: a stalled call is found within 1.25 deadlines.
    this.timer = setInterval(() => this.check(), Math.max(10, Math.floor(requestTimeoutMs / 4)));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One look at every connection: the same call still first in line for a whole deadline means stalled. */
  check(): void {
    const connections = isCluster(this.client) ? this.client.nodes('all') : [this.client];
    const now = this.now();
    for (const connection of connections) {
      const call = oldestCall(connection);
      const seen = this.heads.get(connection);
      // 'connect': the handshake (AUTH, HELLO, the ready check's INFO) is under way; a connection
      // half-open then would never become ready, nor close.
      if (call === undefined || (connection.status !== 'ready' && connection.status !== 'connect')) {
        this.heads.delete(connection);
      } else if (seen === undefined || seen.call !== call) {
        this.heads.set(connection, { call, since: now });
      } else if (now - seen.since >= this.requestTimeoutMs) {
        this.replace(connection, `no reply within requestTimeoutMs (${this.requestTimeoutMs} ms)`);
      }
    }
  }

  /** Replaces the connection that serves `key` now, e.g. after replies of the wrong shape came back on it. */
  replaceFor(key: string, why: string): void {
    const client = this.client;
    const connection = isCluster(client) ? client.nodes('all').find((node) => address(node) === nodeOfKey(client, key)) : client;
    if (connection?.status === 'ready') this.replace(connection, why);
  }

  private replace(connection: Redis, why: string): void {
    this.heads.delete(connection);
    const client = this.client;
    if (isCluster(client)) {
      // A node connection never reconnects by itself: once it has ended, the slot map is read
      // again and the pool opens a fresh connection to the node.
      connection.once('end', () => void client.refreshSlotsCache());
      connection.disconnect();
    } else {
      connection.disconnect(true);
    }
    this.onReplace(address(connection), why);
  }
}

/** The call that has waited longest for its reply on `connection` (ioredis's command queue), if any. */
function oldestCall(connection: Redis): unknown {
  const queue = (connection as unknown as { commandQueue?: { peekFront?: () => { command?: unknown } | undefined } }).commandQueue;
  return queue?.peekFront?.()?.command;
}
