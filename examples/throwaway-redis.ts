/**
 * For the examples: use `REDIS_URL` when set, otherwise start a throwaway `redis-server` on a
 * free loopback port and stop it afterwards.
 */
import { startRedisServer } from '../test/support/redis-server.js';

export async function withRedis(run: (url: string) => Promise<void>): Promise<void> {
  if (process.env.REDIS_URL) return run(process.env.REDIS_URL);
  const server = await startRedisServer().catch((err: unknown) => {
    throw new Error(
      `REDIS_URL is unset and no redis-server could be started (${err instanceof Error ? err.message : String(err)}). ` +
        'Install it (Debian/Ubuntu: apt-get install -y redis-server) or set REDIS_URL=redis://host:port.',
    );
  });
  console.log(`Started a throwaway redis-server on 127.0.0.1:${server.port} (set REDIS_URL to use your own).`);
  try {
    await run(`redis://127.0.0.1:${server.port}`);
  } finally {
    await server.stop();
  }
}
