/**
 * What the TypeScript side and the Lua scripts agree on: each script's keys (SCRIPT_KEYS) and its
 * error codes (SCRIPT_ERRORS), checked against every script's header. No Redis.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classifyRedisError, SCRIPT_ERRORS } from '../../src/redis-errors.js';
import { loadLua, SCRIPT_KEYS, type ScriptName } from '../../src/scripts.js';

const luaDir = new URL('../../lua/', import.meta.url);
const scripts = readdirSync(luaDir).filter((f) => f.endsWith('.lua'));

/** The header comment of a script: everything up to the closing `]]`. */
const headerOf = (file: string) => readFileSync(new URL(file, luaDir), 'utf8').split(']]')[0]!;

describe('script error codes', () => {
  it('the table names every code a script returns, and each script lists in its header the codes it returns', () => {
    const used = new Set<string>();
    for (const file of scripts) {
      const text = loadLua(file.replace(/\.lua$/, '') as ScriptName);
      const body = text.slice(text.indexOf(']]'));
      const returned = new Set(body.match(/ERR_RSP_[A-Z_]+/g) ?? []);
      const documented = new Set(headerOf(file).match(/ERR_RSP_[A-Z_]+/g) ?? []);
      expect(
        [...returned].filter((code) => !documented.has(code)),
        `${file}: returned but not in its header`,
      ).toEqual([]);
      for (const code of returned) used.add(code);
    }
    expect([...used].sort()).toEqual(Object.keys(SCRIPT_ERRORS).sort());
  });

  it('every script code is classified as a refusal before any write', () => {
    for (const code of Object.keys(SCRIPT_ERRORS)) {
      const reply = Object.assign(new Error(`${code} something`), { name: 'ReplyError' });
      expect(classifyRedisError(reply)).toEqual({ code, retriable: false, persisted: 'not' });
    }
    const unknown = Object.assign(new Error('ERR_RSP_NEW something'), { name: 'ReplyError' });
    expect(classifyRedisError(unknown).code).toBe('ERR_REDIS_REPLY');
  });
});

describe('script keys', () => {
  it('SCRIPT_KEYS lists exactly the KEYS each script header documents, in order', () => {
    expect(Object.keys(SCRIPT_KEYS).sort()).toEqual(scripts.map((f) => f.replace(/\.lua$/, '')).sort());
    for (const [name, keys] of Object.entries(SCRIPT_KEYS)) {
      const documented = [...new Set(headerOf(`${name}.lua`).match(/KEYS\[\d+\]/g) ?? [])];
      expect(documented, name).toEqual(keys.map((_, i) => `KEYS[${i + 1}]`));
    }
  });
});

describe('shared Lua', () => {
  const includes = readdirSync(new URL('include/', luaDir));

  it('every include line names a file of lua/include/, and loading leaves none unresolved', () => {
    const named = new Set<string>();
    for (const file of scripts) {
      for (const m of readFileSync(new URL(file, luaDir), 'utf8').matchAll(/^--- @include "(.+)"$/gm)) named.add(`${m[1]}.lua`);
      expect(loadLua(file.replace(/\.lua$/, '') as ScriptName)).not.toMatch(/@include/);
    }
    expect([...named].sort()).toEqual([...includes].sort()); // each shared file is used, none is missing
  });

  it('an included file is written once into a script, where the include line was', () => {
    const text = loadLua('check-batch');
    const shared = readFileSync(new URL('include/idempotence-state.lua', luaDir), 'utf8').trimEnd();
    expect(text.split(shared)).toHaveLength(2);
    expect(text.indexOf(shared)).toBeLessThan(text.indexOf('readState(stateKey)'));
  });
});
