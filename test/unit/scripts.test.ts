import { describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { loadScripts, NO_TRIM, onlineReplicas } from '../../src/scripts.js';

describe('onlineReplicas', () => {
  it('counts the replicas INFO replication lists as online', () => {
    const info = [
      '# Replication',
      'role:master',
      'connected_slaves:3',
      'slave0:ip=127.0.0.1,port=7001,state=online,offset=1234,lag=0',
      'slave1:ip=127.0.0.1,port=7002,state=wait_bgsave,offset=0,lag=0',
      'slave2:ip=127.0.0.1,port=7003,state=online,offset=1234,lag=1',
      'master_failover_state:no-failover',
    ].join('\r\n');
    expect(onlineReplicas(info)).toBe(2);
    expect(onlineReplicas('# Replication\r\nrole:master\r\nconnected_slaves:0\r\n')).toBe(0);
  });
});

describe('publishBatch', () => {
  it('a reply it cannot read means the script ran: possibly persisted, not "not"', async () => {
    // A client whose every script answers something publish-batch never would.
    const client = {
      defineCommand(this: Record<string, unknown>, name: string) {
        this[name] = async () => ['not', 'a', 'reply'];
      },
    };
    const scripts = loadScripts(client as unknown as Redis);
    await expect(scripts.publishBatch('{a:t:0}', NO_TRIM, undefined, 1, ['v', 'x'])).rejects.toMatchObject({ code: 'ERR_BAD_REPLY', persisted: 'possibly' });
  });
});
