/**
 * Passwords never appear in errors: config and record errors redact credentials in URLs and
 * never print values under secret-looking option names; connection errors from ioredis carry no URL.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { formatIssues } from '../../src/config.js';
import { redactCredentials } from '../../src/credentials.js';
import { DeliveryError, InvalidRecordError } from '../../src/errors.js';
import { Producer } from '../../src/index.js';
import { encodeRecord } from '../../src/record.js';
import { freePort } from '../support/redis-server.js';
import { configError } from '../support/config-error.js';

const SECRET = 'Sup3r-S3cret';

/** Everything a caller could print: message, issues, and the whole object as util.inspect shows it. */
function printed(err: unknown): string {
  return [String((err as Error).message), inspect(err, { depth: 10 }), JSON.stringify((err as { issues?: unknown }).issues ?? null)].join('\n');
}

describe('redactCredentials', () => {
  it.each([
    ['redis://user:Sup3r-S3cret@host:6379/0', 'redis://user:***@host:6379/0'],
    ['rediss://:Sup3r-S3cret@host', 'rediss://:***@host'],
    ['http://user:Sup3r-S3cret@host', 'http://user:***@host'],
    ['user:Sup3r-S3cret@host:6379', 'user:***@host:6379'],
    [':Sup3r-S3cret@host', ':***@host'],
    // the last '@' ends the userinfo: an '@' inside the password does not leave its tail behind
    ['redis://user:Sup3r@S3cret@host', 'redis://user:***@host'],
    // a lone userinfo after a scheme: some clients read it as the password
    ['redis://Sup3r-S3cret@host', 'redis://***@host'],
    ['redis://Sup3r@S3cret@host/0', 'redis://***@host/0'],
    ['got "redis://a:Sup3r-S3cret@h" (string); and rediss://b:Sup3r-S3cret@k', 'got "redis://a:***@h" (string); and rediss://b:***@k'],
  ])('%s → %s', (input, expected) => {
    expect(redactCredentials(input)).toBe(expected);
    expect(redactCredentials(input)).not.toContain('S3cret');
  });

  it('leaves text without credentials alone', () => {
    for (const text of ['redis://host:6379', 'rediss://127.0.0.1:6380/2', '`lingerMs`: Too small: expected number to be >=0, got -1 (number)', 'a:b', 'user@example.org']) {
      expect(redactCredentials(text)).toBe(text);
    }
  });
});

describe('ConfigError never prints a password', () => {
  it.each([
    ['a URL with the wrong scheme', `http://producer:${SECRET}@redis.internal:6379`, 'http://producer:***@redis.internal:6379'],
    ['a URL missing a slash', `redis:/producer:${SECRET}@redis.internal`, '***@redis.internal'],
    ['host:port with credentials but no scheme', `producer:${SECRET}@redis.internal:6379`, 'producer:***@redis.internal:6379'],
    ['a password-only URL with the wrong scheme', `tcp://:${SECRET}@h`, 'tcp://:***@h'],
  ])('`redis` given %s', (_what, redis, shown) => {
    const err = configError({ redis });
    expect(err.message).toContain('`redis`: expected a redis:// or rediss:// URL');
    expect(err.message).toContain(shown);
    expect(printed(err)).not.toContain(SECRET);
  });

  it('redacts before shortening a long value, so a cut cannot keep half a password', () => {
    // 40 characters are shown: the cut would fall inside the password.
    const err = configError({ redis: `https://a-rather-long-user-name:${SECRET}${SECRET}@h` });
    expect(err.message).toContain('https://a-rather-long-user-name:***@h');
    expect(printed(err)).not.toContain('S3cret');
    const cut = configError({ redis: `https://a-much-much-longer-user-name-here:${SECRET}@host` });
    expect(cut.message).toContain('…');
    expect(printed(cut)).not.toMatch(/S3c|Sup3r/);
  });

  it('never prints the contents of ioredis options (password fields included)', () => {
    const bad = [
      { redis: { cluster: [`redis://:${SECRET}@h:1`, 5.5], options: { redisOptions: { password: SECRET } } } },
      { redis: { cluster: [{ host: 'h', port: 99_999, password: SECRET }] } },
      { redis: { cluster: [], options: { redisOptions: { password: SECRET }, natMap: {} } } },
      { redis: { cluster: ['h:1'], options: { password: SECRET }, extra: SECRET } },
      { redis: 42, lingerMs: -1, namespace: `redis://u:${SECRET}@h` },
    ];
    for (const input of bad) {
      const err = configError(input);
      expect(printed(err), JSON.stringify(input)).not.toContain(SECRET);
    }
  });

  it('hides the value of a secret-looking option name even when it is not a URL', () => {
    const schema = z.object({
      redis: z.object({ password: z.string().min(32), sentinelPassword: z.number(), tls: z.object({ passphrase: z.string().max(2) }) }),
    });
    const input = { redis: { password: SECRET, sentinelPassword: SECRET, tls: { passphrase: SECRET } } };
    const result = schema.safeParse(input);
    expect(result.success).toBe(false);
    const lines = formatIssues(result.error!.issues, input);
    expect(lines).toHaveLength(3);
    expect(lines.join('\n')).not.toContain(SECRET);
    expect(lines[0]).toMatch(/^`redis\.password`: .*got a string \(not shown\)$/);
  });
});

describe('record errors never print a credential either', () => {
  it('a topic that looks like a URL with a password is redacted in InvalidRecordError', () => {
    let caught: unknown;
    try {
      encodeRecord({ topic: `redis://u:${SECRET}@h`, value: 'v' }, { maxRecordBytes: 1024, maxHeaders: 8 });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidRecordError);
    expect((caught as Error).message).toContain('redis://u:***@h');
    expect(printed(caught)).not.toContain(SECRET);
  });
});

describe('connection errors', () => {
  it('a refused connection to a URL with a password reports host and port, not the password', async () => {
    const port = await freePort(); // nothing listens there
    const producer = new Producer({ redis: `redis://producer:${SECRET}@127.0.0.1:${port}`, requestTimeoutMs: 300, compensation: { replay: { enabled: false } } });
    const errors: unknown[] = [];
    producer.on('error', (err) => errors.push(err));
    const rejected = await producer.connect().then(
      () => undefined,
      (err: unknown) => err,
    );
    await producer.close({ timeoutMs: 100 });
    expect(rejected).toBeInstanceOf(DeliveryError);
    expect(errors.length).toBeGreaterThan(0);
    for (const err of [rejected, ...errors]) {
      expect(err).toBeInstanceOf(DeliveryError);
      expect(printed(err)).not.toContain(SECRET);
    }
    expect(errors.some((e) => (e as Error).message.includes(`127.0.0.1:${port}`))).toBe(true);
  });
});
