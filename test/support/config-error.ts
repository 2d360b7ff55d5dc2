import { expect } from 'vitest';
import { resolveConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

/** The `ConfigError` that resolving `input` throws; fails the test if it throws nothing or something else. */
export function configError(input: unknown): ConfigError {
  try {
    resolveConfig(input as never);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}
