/**
 * ioredis listens for the first `error` of each socket it opens (`once`), and so does its
 * connector. A refused TLS handshake can raise two errors on one socket in the same read: the
 * client's own verification error (say, a host name the certificate does not name) and then the
 * alert the server sends back. With no listener left, Node throws the second one as an uncaught
 * exception and the user's process dies. This connector, otherwise ioredis's own, keeps one
 * listener on every socket for the rest of its life; ioredis still reports the first error.
 */
import { createRequire } from 'node:module';
import type { RedisOptions } from 'ioredis';

// ioredis exports no connector class but the abstract one; this is its own standalone connector,
// loaded with require() so that Node and the test runner see the same CommonJS exports.
const require = createRequire(import.meta.url);
const { default: StandaloneConnector } = require('ioredis/built/connectors/StandaloneConnector.js') as typeof import('ioredis/built/connectors/StandaloneConnector.js');

const ignore = (): void => {};

export class GuardedConnector extends StandaloneConnector {
  override connect(...args: Parameters<InstanceType<typeof StandaloneConnector>['connect']>): ReturnType<InstanceType<typeof StandaloneConnector>['connect']> {
    return super.connect(...args).then((stream) => {
      stream.on('error', ignore);
      return stream;
    });
  }
}

/**
 * `options` with the guarded connector, unless they choose a connector themselves or use
 * Sentinel (ioredis then picks its Sentinel connector, which this does not wrap).
 */
export function withGuardedConnector<T extends RedisOptions>(options: T): T {
  if (options.Connector !== undefined || options.sentinels !== undefined) return options;
  return { ...options, Connector: GuardedConnector };
}
