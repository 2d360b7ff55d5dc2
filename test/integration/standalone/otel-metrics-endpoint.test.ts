/**
 * examples/metrics-endpoint.ts runs with one command against the test Redis, serves its figures on
 * /metrics in Prometheus text format, and stops cleanly on SIGTERM.
 */
import type { ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { eventually, redisUrl } from '../../support/helpers.js';
import { runExample } from '../../support/run-example.js';

/** Sum of every sample of `name` in a Prometheus text page (all label sets). */
function sample(page: string, name: string): number | undefined {
  const values = [...page.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].map((m) => Number(m[1]));
  return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0);
}

describe('examples/metrics-endpoint.ts', () => {
  it('serves non-zero producer metrics on /metrics, then closes cleanly on SIGTERM', async () => {
    let child: ChildProcess | undefined;
    let url: string | undefined;
    let printed = '';
    const run = runExample('metrics-endpoint.ts', {
      env: { REDIS_URL: redisUrl(), METRICS_PORT: '0' },
      onOutput: (out, c) => {
        child = c;
        printed = out;
        url ??= /serving metrics on (http:\S+)/.exec(out)?.[1];
      },
    });

    let page = '';
    await eventually(
      async () => {
        if (url === undefined) return false;
        page = await (await fetch(url)).text();
        return (sample(page, 'rsp_producer_records_delivered_total') ?? 0) > 0 && (sample(page, 'rsp_producer_request_duration_count') ?? 0) > 0;
      },
      'delivered records on /metrics',
      20_000,
    );

    expect(page).toMatch(/^# TYPE rsp_producer_records_delivered_total counter$/m);
    expect(page).toMatch(/^rsp_producer_records_delivered_total\{[^}]*topic="orders"[^}]*shard="\d"[^}]*\} \d+$/m);
    expect(sample(page, 'rsp_producer_bytes_delivered_total')).toBeGreaterThan(0);
    expect(sample(page, 'rsp_producer_batches_delivered_total')).toBeGreaterThan(0);
    expect(page).toMatch(/^# TYPE rsp_producer_request_duration histogram$/m);
    expect(sample(page, 'rsp_producer_request_duration_sum')).toBeGreaterThan(0);
    expect(sample(page, 'rsp_producer_batch_records_sum')).toBe(sample(page, 'rsp_producer_records_delivered_total'));
    expect(sample(page, 'rsp_producer_buffer_limit')).toBe(32 * 1024 * 1024);
    for (const present of ['rsp_producer_buffer_used', 'rsp_producer_retries_total', 'rsp_producer_records_spilled_total', 'rsp_producer_queue_records', 'rsp_producer_inflight_batches']) {
      expect(sample(page, present), present).toBeDefined();
    }
    expect((await fetch(new URL('/other', url))).status).toBe(404);

    // The stats event prints once a second; wait for one that saw traffic, then stop the example.
    await eventually(() => /stats: [1-9]\d* records\/s/.test(printed), 'a stats line with traffic', 20_000);
    child!.kill('SIGTERM');
    const { code, out: stdout } = await run;
    expect(stdout).toMatch(/stats: [1-9]\d* records\/s/);
    expect(stdout).toMatch(/SIGTERM: closed cleanly/);
    expect(code, stdout).toBe(0);
  }, 60_000);
});
