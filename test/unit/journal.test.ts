import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { complete, encodeRecords, Journal, readJournalFile, recover, release } from '../../src/compensation/journal.js';

const HEADER = 11;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rsp-journal-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const buf = (s: string): Buffer => Buffer.from(s);

async function journalWith(ownerId: string, ...batches: Buffer[][]): Promise<Journal> {
  const journal = await Journal.open(dir, ownerId);
  for (const batch of batches) await journal.append(batch);
  return journal;
}

describe('Journal', () => {
  it('round-trips many entries, binary and empty ones included', async () => {
    const entries = [buf(''), randomBytes(70_000), Buffer.from([0, 0x52, 0x4a, 1, 0xff]), buf('')];
    for (let i = 0; i < 500; i++) entries.push(buf(`entry-${i}`));
    const journal = await journalWith('p1', entries);
    const read = await readJournalFile(journal.path);
    expect(read).toEqual({ records: entries, tornTail: false });
    await journal.close();
  });

  it('writes the documented format', () => {
    const data = encodeRecords([buf('abc')]);
    expect([...data.subarray(0, 7)]).toEqual([0x52, 0x4a, 1, 0, 0, 0, 3]);
    expect(data.length).toBe(HEADER + 3);
  });

  it('creates the directory with mode 0o700', async () => {
    const nested = join(dir, 'a', 'b');
    const journal = await Journal.open(nested, 'p1');
    expect((await stat(nested)).mode & 0o777).toBe(0o700);
    await journal.close();
  });

  it('rejects an ownerId that is not [A-Za-z0-9_-]+', async () => {
    await expect(Journal.open(dir, '../x')).rejects.toThrow(/ownerId/);
    await expect(Journal.open(dir, '')).rejects.toThrow(/ownerId/);
  });

  it('keeps the order of appends, also when they are not awaited one by one', async () => {
    const journal = await Journal.open(dir, 'p1', { fsync: 'never' });
    const expected: Buffer[] = [];
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      const batch = [buf(`a${i}`), buf(`b${i}`)];
      expected.push(...batch);
      pending.push(journal.append(batch));
    }
    await Promise.all(pending);
    expect((await readJournalFile(journal.path)).records).toEqual(expected);
    await journal.close();
  });

  it('close() removes an empty own file and keeps a non-empty one', async () => {
    const empty = await Journal.open(dir, 'empty');
    await empty.append([]);
    await empty.close();
    const full = await journalWith('full', [buf('x')]);
    await full.close();
    expect(await readdir(dir)).toEqual(['journal-full.log']);
    await expect(full.append([buf('y')])).rejects.toThrow(/closed/);
  });

  it('sets a left-over file of the same owner aside instead of appending after its torn tail', async () => {
    const crashed = encodeRecords([buf('old-1'), buf('old-2')]);
    await writeFile(join(dir, 'journal-p1.log'), crashed.subarray(0, crashed.length - 2));
    const journal = await journalWith('p1', [buf('new')]);
    await journal.close();
    const claimed = await recover(dir);
    const all = claimed.map((c) => ({ records: c.records.map(String), tornTail: c.tornTail }));
    expect(all).toHaveLength(2);
    expect(all).toContainEqual({ records: ['old-1'], tornTail: true });
    expect(all).toContainEqual({ records: ['new'], tornTail: false });
  });
});

describe('readJournalFile', () => {
  const entries = [buf('first'), buf('second'), buf('third')];

  it('skips a torn last record (cut inside the payload) and reports tornTail', async () => {
    const path = join(dir, 'journal-t.log');
    const data = encodeRecords(entries);
    await writeFile(path, data);
    await truncate(path, data.length - 3);
    expect(await readJournalFile(path)).toEqual({ records: entries.slice(0, 2), tornTail: true });
  });

  it('skips a torn last record cut inside its header', async () => {
    const path = join(dir, 'journal-t.log');
    const twoRecords = encodeRecords(entries.slice(0, 2)).length;
    await writeFile(path, encodeRecords(entries));
    for (const headerBytes of [HEADER, HEADER - 1, 6, 3, 1]) {
      // shrinking: truncate would pad with zeros
      await truncate(path, twoRecords + headerBytes);
      expect(await readJournalFile(path)).toEqual({ records: entries.slice(0, 2), tornTail: true });
    }
  });

  it('stops at a record whose payload CRC does not match and reports its offset', async () => {
    const path = join(dir, 'journal-c.log');
    const data = encodeRecords(entries);
    const second = encodeRecords(entries.slice(0, 1)).length;
    data[second + HEADER + 2]! ^= 0x01;
    await writeFile(path, data);
    expect(await readJournalFile(path)).toEqual({ records: entries.slice(0, 1), tornTail: false, corruptAt: second });
  });

  it('stops at a record with a bad magic', async () => {
    const data = encodeRecords(entries);
    const second = encodeRecords(entries.slice(0, 1)).length;
    data[second] = 0;
    const path = join(dir, 'journal-m.log');
    await writeFile(path, data);
    expect(await readJournalFile(path)).toMatchObject({ records: entries.slice(0, 1), corruptAt: second });
  });

  it('throws on I/O errors only', async () => {
    await expect(readJournalFile(join(dir, 'missing.log'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('recover / complete / release', () => {
  it('claims another owner’s file; a concurrent recover gets nothing from it', async () => {
    const other = await journalWith('other', [buf('a'), buf('b')]);
    const [first, second] = await Promise.all([recover(dir), recover(dir)]);
    const all = [...first, ...second];
    expect(all).toHaveLength(1);
    expect(all[0]!.records.map(String)).toEqual(['a', 'b']);
    expect(all[0]!.path).toMatch(/journal-other\.log\.draining-\d+-[0-9a-f]+$/);
    expect(await recover(dir)).toEqual([]); // a fresh claim is not stale
    await other.close();
  });

  it('returns nothing for a missing directory', async () => {
    expect(await recover(join(dir, 'nope'))).toEqual([]);
  });

  it('complete() deletes the claimed file', async () => {
    await (await journalWith('p1', [buf('a')])).close();
    const [claimed] = await recover(dir);
    await complete(claimed!);
    expect(await readdir(dir)).toEqual([]);
  });

  it('complete() keeps a corrupt file aside, where recover does not take it again', async () => {
    const data = encodeRecords([buf('a'), buf('b')]);
    data[data.length - 1]! ^= 0xff;
    await writeFile(join(dir, 'journal-p1.log'), data);
    const [claimed] = await recover(dir);
    expect(claimed).toMatchObject({ records: [buf('a')], corruptAt: HEADER + 1 });
    await complete(claimed!);
    expect(await readdir(dir)).toEqual([expect.stringMatching(/^journal-p1\.log\.corrupt-\d+$/)]);
    expect(await recover(dir)).toEqual([]);
  });

  it('release() makes the file recoverable again, without replacing a live file of the same owner', async () => {
    const journal = await journalWith('p1', [buf('a')]);
    const [claimed] = await recover(dir);
    await journal.append([buf('b')]); // starts a new journal-p1.log
    await release(claimed!);
    const again = await recover(dir);
    expect(again.map((c) => c.records.map(String)).sort()).toEqual([['a'], ['b']]);
    await journal.close();
  });

  it('re-claims a draining file whose claim is older than staleDrainingMs', async () => {
    await (await journalWith('p1', [buf('a')])).close();
    let clock = 1_000_000;
    const now = () => clock;
    const [claimed] = await recover(dir, { wallClock: now });
    expect(await recover(dir, { wallClock: now, staleDrainingMs: 60_000 })).toEqual([]);
    clock += 60_000;
    const [reclaimed] = await recover(dir, { wallClock: now, staleDrainingMs: 60_000 });
    expect(reclaimed?.records).toEqual([buf('a')]);
    expect(reclaimed?.path).not.toBe(claimed?.path);
    await complete(claimed!); // the slow first claimer finishing late is harmless
    await complete(reclaimed!);
    expect(await readdir(dir)).toEqual([]);
  });

  it('the own file, once claimed, is not appended to: the next append starts a new file', async () => {
    const journal = await journalWith('p1', [buf('a')]);
    const [claimed] = await recover(dir);
    await journal.append([buf('b')]);
    await complete(claimed!);
    expect((await readJournalFile(journal.path)).records).toEqual([buf('b')]);
    const [next] = await recover(dir);
    expect(next?.records).toEqual([buf('b')]);
    await journal.close();
  });

  it('recovers every entry of a process killed right after its appends', async () => {
    const count = 95;
    const script = fileURLToPath(new URL('./fixtures/journal-crash.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, dir, 'crashed', String(count)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    expect(stderr).toBe('');
    expect(signal).toBe('SIGKILL');
    const claimed = await recover(dir);
    expect(claimed).toHaveLength(1);
    expect(claimed[0]!.records.map(String)).toEqual(Array.from({ length: count }, (_, i) => `entry-${i}`));
    expect(claimed[0]!.tornTail).toBe(false);
    await complete(claimed[0]!);
    expect(await readdir(dir)).toEqual([]);
    await expect(readFile(claimed[0]!.path)).rejects.toMatchObject({ code: 'ENOENT' });
  }, 20_000);
});
