import { describe, expect, it } from 'vitest';
import { ReplyError } from 'ioredis';
import { RequestTimeoutError, TopicConfigError } from '../../src/errors.js';
import { classifyRedisError } from '../../src/redis-errors.js';

const reply = (message: string): Error => new ReplyError(message);

describe('classifyRedisError', () => {
  it.each([
    'MOVED 1 127.0.0.1:7000',
    'ASK 1 127.0.0.1:7000',
    'TRYAGAIN x',
    'CLUSTERDOWN x',
    'LOADING x',
    'BUSY x',
    'READONLY x',
    'OOM command not allowed',
    'MISCONF Errors writing to the AOF file: No space left on device',
    'NOREPLICAS Not enough good replicas to write.',
    'NOSCRIPT x',
    'MASTERDOWN x',
  ])('%s is retriable and proves nothing was written', (message) => {
    const c = classifyRedisError(reply(message));
    expect(c).toEqual({ code: `ERR_REDIS_${message.split(' ')[0]}`, retriable: true, persisted: 'not' });
  });

  it.each(['NOAUTH Authentication required.', 'WRONGPASS invalid', 'NOPERM no', 'WRONGTYPE Operation against a key', 'ERR unknown command'])('%s is not retriable', (message) => {
    expect(classifyRedisError(reply(message))).toMatchObject({ retriable: false, persisted: 'not' });
  });

  it('tells a command that never left from one whose reply was lost', () => {
    expect(classifyRedisError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toEqual({ code: 'ERR_CONNECTION', retriable: true, persisted: 'not' });
    expect(classifyRedisError(new Error("Stream isn't writeable and enableOfflineQueue options is false"))).toMatchObject({ persisted: 'not' });
    expect(classifyRedisError(new Error("Cluster isn't ready and enableOfflineQueue options is false"))).toEqual({ code: 'ERR_CONNECTION', retriable: true, persisted: 'not' });
    expect(classifyRedisError(new Error('Too many Cluster redirections. Last error: ReplyError: TRYAGAIN Multiple keys request during rehashing of slot'))).toEqual({
      code: 'ERR_REDIS_TRYAGAIN',
      retriable: true,
      persisted: 'not',
    });
    expect(classifyRedisError(new Error('Too many Cluster redirections. Last error: Error: Connection is closed.'))).toEqual({ code: 'ERR_CONNECTION', retriable: true, persisted: 'possibly' });
    expect(classifyRedisError(Object.assign(new Error('Reached the max retries per request limit'), { name: 'MaxRetriesPerRequestError' }))).toEqual({
      code: 'ERR_CONNECTION',
      retriable: true,
      persisted: 'possibly',
    });
    expect(classifyRedisError(new Error('Connection is closed.'))).toEqual({ code: 'ERR_CONNECTION', retriable: true, persisted: 'possibly' });
    expect(classifyRedisError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toMatchObject({ persisted: 'possibly' });
    expect(classifyRedisError(new RequestTimeoutError('publish-batch', 10))).toEqual({ code: 'ERR_REQUEST_TIMEOUT', retriable: true, persisted: 'possibly' });
  });

  it('keeps our own errors as they are and treats the unknown as fatal', () => {
    expect(classifyRedisError(new TopicConfigError('t', 4, 8))).toEqual({ code: 'ERR_TOPIC_CONFIG', retriable: false, persisted: 'not' });
    expect(classifyRedisError(new Error('something else'))).toEqual({ code: 'ERR_UNKNOWN', retriable: false, persisted: 'possibly' });
  });
});
