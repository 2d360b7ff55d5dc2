import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { readStream, redisUrl, Resources } from '../../support/helpers.js';
import { runExample, type ExampleOptions } from '../../support/run-example.js';

// Each example runs as a user would run it (one command, through tsx) against the test Redis, and
// each test checks what the example did in Redis or over HTTP, not only that it exited with 0.
const res = new Resources();
afterAll(() => res.closeAll());

const run = (file: string, options: ExampleOptions = {}) => runExample(file, { ...options, env: { REDIS_URL: redisUrl(), ...options.env } });

/** Total entries in the streams of `shards` shards of a topic. */
async function totalLength(namespace: string, topic: string, shards: number): Promise<number> {
  const admin = res.admin();
  let total = 0;
  for (let s = 0; s < shards; s++) total += await admin.xlen(`{${namespace}:${topic}:${s}}`);
  return total;
}

describe('examples run with one command', () => {
  it('quickstart', async () => {
    const { code, out } = await run('quickstart.ts');
    const sent = /send {7}→ delivered to (\{demo:orders:\d\}) as (\d+-\d+)/.exec(out);
    expect(sent, out).not.toBeNull();
    expect(out).toMatch(/produce {4}→ 10000 records delivered/);
    const entry = (await readStream(res.admin(), sent![1]!)).find(([id]) => id === sent![2]);
    expect(entry?.[1]).toEqual(['payload', '{"total":12}', 'key', 'user-42', 'h:source', 'api']);
    expect(code, out).toBe(0);
  });

  it('awaited sends', async () => {
    const { code, out } = await run('awaited-sends.ts');
    expect(out).toMatch(/200 callers awaited 10000 sends/);
    expect(code, out).toBe(0);
  });

  it('firehose: every record reaches its stream', async () => {
    const before = await totalLength('firehose', 'metrics', 16);
    const { code, out } = await run('firehose.ts', { args: ['50000'] });
    expect(out).toMatch(/delivered 50000, failed batches 0/);
    expect(await totalLength('firehose', 'metrics', 16)).toBe(before + 50_000);
    expect(code, out).toBe(0);
  });

  it('keyed ordering', async () => {
    const { code, out } = await run('keyed-ordering.ts');
    expect(out.match(/in order/g)).toHaveLength(3);
    expect(code, out).toBe(0);
  });

  it('graceful shutdown on SIGTERM loses nothing', async () => {
    let signalled = false;
    const { code, out } = await run('graceful-shutdown.ts', {
      onOutput: (text, child) => {
        if (!signalled && text.includes('send SIGTERM')) {
          signalled = true;
          setTimeout(() => child.kill('SIGTERM'), 300);
        }
      },
    });
    expect(out).toMatch(/SIGTERM: closing/);
    expect(out).toMatch(/closed cleanly: produced (\d+), delivered \1\b/);
    expect(code, out).toBe(0);
  });

  it('compensation: parks on WRONGTYPE, dead-letters, purges one, requeues and replays the rest', async () => {
    const { code, out } = await run('compensation.ts');
    expect(out.match(/spilled: \S+ parked in redis \(ERR_REDIS_WRONGTYPE, persisted: not\)/g), out).toHaveLength(3);
    expect(out).toMatch(/stats: pending 3, due 3, dead 0/);
    expect(out).toMatch(/round: replayed 0, retry later 0, dead-lettered 3/);
    expect(out).toMatch(/purged 1\n/);
    expect(out).toMatch(/requeued 2\n/);
    expect(out).toMatch(/round: replayed 2, retry later 0, dead-lettered 0/);
    expect(code, out).toBe(0);
    // In Redis: the two wanted records in the stream, nothing left in the store.
    const admin = res.admin();
    const entries = await readStream(admin, '{comp-demo:payments:0}');
    expect(entries.map(([, fields]) => fields[1])).toEqual(['bob:20', 'carol:30']);
    const store = '{comp-demo:compensation:payments}';
    expect([await admin.zcard(`${store}:zset`), await admin.zcard(`${store}:dead`), await admin.hlen(`${store}:data`)]).toEqual([0, 0, 0]);
  });
});

describe('http-service example', () => {
  /** Starts the service on a free port; resolves with its URL and process once it listens. */
  function startService(): { ready: Promise<{ url: string; child: ChildProcess }>; exited: ReturnType<typeof run> } {
    let announce!: (v: { url: string; child: ChildProcess }) => void;
    const ready = new Promise<{ url: string; child: ChildProcess }>((resolve) => (announce = resolve));
    const exited = run('http-service.ts', {
      env: { PORT: '0' },
      onOutput: (text, child) => {
        const url = /listening on (http:\/\/[\d.]+:\d+)/.exec(text)?.[1];
        if (url) announce({ url, child });
      },
    });
    // An example that dies before listening must fail the test, not leave it waiting.
    void exited.then(({ out }) => announce({ url: `(exited before listening)\n${out}`, child: undefined as never }));
    return { ready, exited };
  }

  const post = (url: string, path: string, body: string, key?: string) => fetch(`${url}${path}`, { method: 'POST', body, headers: key ? { 'x-key': key } : {} });

  it('answers 202 with the entry id, 400 naming the bad field, and writes each record once', async () => {
    const { ready, exited } = startService();
    const { url, child } = await ready;
    expect(url).toMatch(/^http:/);

    const values = Array.from({ length: 20 }, (_, i) => `order-${i}-${randomUUID()}`);
    const replies = await Promise.all(values.map((v, i) => post(url, '/topics/orders', v, `user-${i % 5}`)));
    const bodies = (await Promise.all(replies.map((r) => r.json()))) as { status: string; stream: string; id: string }[];
    expect(replies.map((r) => r.status)).toEqual(values.map(() => 202));
    const admin = res.admin();
    for (const [i, body] of bodies.entries()) {
      expect(body.status).toBe('delivered');
      const entry = (await readStream(admin, body.stream)).filter(([, fields]) => fields[1] === values[i]);
      expect(
        entry.map(([id]) => id),
        `${values[i]} in ${body.stream}`,
      ).toEqual([body.id]);
      expect(entry[0]![1]).toEqual(expect.arrayContaining(['key', `user-${i % 5}`]));
    }

    const bad = await post(url, '/topics/bad:topic', 'x');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ field: 'topic' });
    expect((await fetch(`${url}/elsewhere`)).status).toBe(404);

    child.kill('SIGTERM');
    const { code, out } = await exited;
    expect(out).toMatch(/SIGTERM: no new connections/);
    expect(out).toMatch(/producer closed: 20 delivered, 0 parked, 1 invalid, 0 refused/);
    expect(code, out).toBe(0);
  });

  it('on SIGTERM answers the requests in flight before closing, and every 202 is in its stream', async () => {
    const { ready, exited } = startService();
    const { url, child } = await ready;
    const values = Array.from({ length: 50 }, (_, i) => `late-${i}-${randomUUID()}`);
    let signalled = false;
    const outcomes = await Promise.all(
      values.map((v) =>
        post(url, '/topics/orders', v).then(
          async (r) => {
            // SIGTERM as soon as the first answer arrives: the others are in flight or not sent yet.
            if (!signalled) {
              signalled = true;
              child.kill('SIGTERM');
            }
            return { status: r.status, body: (await r.json()) as { status?: string; stream?: string; id?: string } };
          },
          () => ({ status: 0, body: {} as { status?: string; stream?: string; id?: string } }), // refused after the server stopped accepting: never accepted
        ),
      ),
    );
    const { code, out } = await exited;
    expect(code, out).toBe(0);
    const delivered = outcomes.filter((o) => o.status === 202);
    expect(delivered.length).toBeGreaterThan(0);
    expect(
      outcomes.every((o) => [0, 202, 503].includes(o.status)),
      JSON.stringify(outcomes.map((o) => o.status)),
    ).toBe(true);
    // The service's own count equals what clients were told: no answer was lost on the way out.
    expect(out).toMatch(new RegExp(`producer closed: ${delivered.length} delivered, 0 parked`));
    const admin = res.admin();
    for (const { body } of delivered) {
      const ids = (await readStream(admin, body.stream!)).map(([id]) => id);
      expect(ids).toContain(body.id);
    }
  });
});
