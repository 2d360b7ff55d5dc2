/**
 * The integration and cluster suites again, against Valkey (`valkey-server`, `valkey-cli`), as the
 * last step of `npm test`. `RSP_SERVERS=redis npm test` leaves this step out, and says so.
 */
import { spawnSync } from 'node:child_process';

if (process.env.RSP_SERVERS === 'redis') {
  process.stdout.write('\nValkey suites not run: RSP_SERVERS=redis. CI runs them; unset RSP_SERVERS to run them here.\n');
  process.exit(0);
}
process.stdout.write('\nThe integration and cluster suites against Valkey (RSP_SERVER=valkey):\n');
// Servers the suites start themselves: a REDIS_URL or REDIS_CLUSTER_NODES would point at Redis.
const env: NodeJS.ProcessEnv = { ...process.env, RSP_SERVER: 'valkey' };
delete env.REDIS_URL;
delete env.REDIS_CLUSTER_NODES;
const run = spawnSync('npx', ['vitest', 'run', '--project', 'integration', '--project', 'cluster'], { stdio: 'inherit', env });
process.exit(run.status ?? 1);
