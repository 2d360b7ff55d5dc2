/**
 * The local disk journal: where records go when they can be neither delivered nor
 * parked in the Redis compensation store because Redis is unreachable. Once Redis answers again,
 * `recover()` claims the journal files, the caller moves their records into Redis and `complete()`s
 * them. Entries are opaque bytes; the caller encodes and decodes them.
 *
 * Record format (all integers big-endian), one after the other, nothing else in the file:
 *
 *   offset  size  field
 *   0       2     magic 0x52 0x4A ("RJ")
 *   2       1     version (1)
 *   3       4     payload length, uint32
 *   7       4     CRC-32 of the payload, uint32 (zlib `crc32`)
 *   11      n     payload
 *
 * A file that ends inside a record is a torn tail (a crash during a write) and is skipped. A bad
 * magic, version or CRC is corruption: reading stops there. A corrupted length that points past the
 * end of the file looks like a torn tail (the header has no checksum of its own) unless an intact
 * record follows it, which a crash cannot leave behind: then it is corruption too.
 *
 * File names in `dir`:
 *   journal-<owner>.log                     the file an open Journal appends to
 *   journal-<owner>.<hex>.log               set aside (left over at open, or released); recoverable
 *   <one of the above>.draining-<ms>-<hex>  claimed by a recoverer at <ms>; re-claimable when stale
 *   <one of the above>.corrupt-<ms>         completed with corruption; kept for inspection, not recovered
 */
import { randomBytes } from 'node:crypto';
import { constants, type FileHandle, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';

const MAGIC_0 = 0x52;
const MAGIC_1 = 0x4a;
const VERSION = 1;
const HEADER_BYTES = 11;
const MAX_PAYLOAD_BYTES = 0xffff_ffff;

const OWNER_ID = /^[A-Za-z0-9_-]+$/;
const JOURNAL_NAME = /^journal-[A-Za-z0-9_-]+(?:\.[0-9a-f]+)?\.log$/;
const DRAINING_NAME = /^(journal-[A-Za-z0-9_-]+(?:\.[0-9a-f]+)?\.log)\.draining-(\d+)-[0-9a-f]+$/;

export type JournalFsync = 'always' | 'never';

export interface JournalOptions {
  /**
   * When appended records are forced to disk.
   * - `'always'`: fdatasync after every append, before it resolves. These are records the producer
   *   has promised not to lose and could not put anywhere else, so an append is only done once they
   *   survive a crash of the process or of the machine.
   * - `'never'`: leave it to the OS; survives a crash of the process, not of the machine.
   * @default 'always'
   */
  fsync?: JournalFsync;
}

export interface JournalReadResult {
  /** Payloads of the intact records, in the order they were appended. */
  records: Buffer[];
  /** The file ends inside a record (a crash during a write); that record is skipped. */
  tornTail: boolean;
  /** Byte offset of the first record with a bad magic, version or CRC; reading stopped there. */
  corruptAt?: number;
}

export interface ClaimedJournal extends JournalReadResult {
  /** Path of the claimed (`.draining-…`) file; only this claimer will drain it. */
  path: string;
}

export interface RecoverOptions {
  /**
   * Claimed files older than this are taken as abandoned (their claimer died) and claimed again.
   * @default 600000 (10 minutes)
   */
  staleDrainingMs?: number;
  /** Clock in ms since the epoch. @default Date.now */
  wallClock?: () => number;
}

/** Appends records to this producer's own journal file, `journal-<ownerId>.log` in `dir`. */
export class Journal {
  private handle: FileHandle | undefined;
  /** Inode of `handle`, to notice that a recoverer renamed our file away. */
  private ino = 0;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly dir: string,
    readonly path: string,
    private readonly fsync: JournalFsync,
  ) {}

  /** Creates `dir` (mode 0o700) if missing. The file itself is created by the first append. */
  static async open(dir: string, ownerId: string, options: JournalOptions = {}): Promise<Journal> {
    if (!OWNER_ID.test(ownerId)) {
      throw new TypeError(`Expected \`ownerId\` to match ${String(OWNER_ID)}, got \`${ownerId}\``);
    }
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return new Journal(dir, join(dir, `journal-${ownerId}.log`), options.fsync ?? 'always');
  }

  /** Appends all entries in one write; appends run one at a time, in call order. */
  async append(entries: readonly Buffer[]): Promise<void> {
    if (this.closed) throw new Error('Journal is closed');
    const data = encodeRecords(entries);
    const done = this.tail.then(() => this.write(data));
    this.tail = done.catch(() => undefined);
    return done;
  }

  /** Waits for pending appends, closes the file and removes it if it is empty. */
  async close(): Promise<void> {
    this.closed = true;
    await this.tail;
    const handle = this.handle;
    if (!handle) return;
    this.handle = undefined;
    const size = (await handle.stat()).size;
    await handle.close();
    if (size === 0 && (await this.ownsPath())) await unlinkIfExists(this.path);
  }

  private async write(data: Buffer): Promise<void> {
    if (data.length === 0) return;
    // A recoverer may rename our file while we hold it open. Writing into a claimed file could lose
    // the records (it may already have been read), so check before and after: if the path no longer
    // names our file after the write, write again into a fresh file. That may duplicate records in
    // Redis, which entry ids make harmless; it never loses any.
    for (;;) {
      if (this.handle && !(await this.ownsPath())) await this.drop();
      const handle = this.handle ?? (await this.create());
      try {
        for (let at = 0; at < data.length; ) {
          at += (await handle.write(data, at, data.length - at)).bytesWritten;
        }
        if (this.fsync === 'always') await handle.datasync();
      } catch (error) {
        // The file may now end in a partial record: never append after it, start a new file.
        await this.drop();
        throw error;
      }
      if (await this.ownsPath()) return;
    }
  }

  /** Opens a new, empty own file; one left over (a crash, an earlier instance) is set aside for recovery. */
  private async create(): Promise<FileHandle> {
    for (;;) {
      try {
        const flags = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_EXCL;
        const handle = await open(this.path, flags, 0o600);
        this.ino = (await handle.stat()).ino;
        this.handle = handle;
        if (this.fsync === 'always') await syncDir(this.dir);
        return handle;
      } catch (error) {
        if (!isCode(error, 'EEXIST')) throw error;
        // Appending to it could follow a torn record and make everything after it unreadable.
        await renameIfExists(this.path, join(this.dir, asideName(basename(this.path))));
      }
    }
  }

  private async ownsPath(): Promise<boolean> {
    try {
      return (await stat(this.path)).ino === this.ino;
    } catch (error) {
      if (isCode(error, 'ENOENT')) return false;
      throw error;
    }
  }

  private async drop(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch(() => undefined);
  }
}

/** Encodes entries as consecutive records (see the format at the top of this file). */
export function encodeRecords(entries: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const payload of entries) {
    if (payload.length > MAX_PAYLOAD_BYTES) {
      throw new RangeError(`Expected a journal entry of at most ${MAX_PAYLOAD_BYTES} bytes, got ${payload.length}`);
    }
    const header = Buffer.allocUnsafe(HEADER_BYTES);
    header[0] = MAGIC_0;
    header[1] = MAGIC_1;
    header[2] = VERSION;
    header.writeUInt32BE(payload.length, 3);
    header.writeUInt32BE(crc32(payload), 7);
    parts.push(header, payload);
  }
  return Buffer.concat(parts);
}

/** Decodes a whole journal file's bytes; never throws on bad content. */
export function decodeRecords(data: Buffer): JournalReadResult {
  const records: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    if (data.length - at < HEADER_BYTES) {
      // Too short for a header: torn if what is there is a valid header prefix, else corrupt.
      const prefix = [MAGIC_0, MAGIC_1, VERSION];
      const valid = data.subarray(at, at + 3).every((byte, i) => byte === prefix[i]);
      return valid ? { records, tornTail: true } : { records, tornTail: false, corruptAt: at };
    }
    if (data[at] !== MAGIC_0 || data[at + 1] !== MAGIC_1 || data[at + 2] !== VERSION) {
      return { records, tornTail: false, corruptAt: at };
    }
    const length = data.readUInt32BE(at + 3);
    const start = at + HEADER_BYTES;
    if (data.length - start < length) {
      // A crash tears only the last record. If an intact record follows, the length field itself
      // is damaged: corruption, so the file is kept, not deleted with the records after it.
      return validRecordAfter(data, at + 1) ? { records, tornTail: false, corruptAt: at } : { records, tornTail: true };
    }
    const payload = data.subarray(start, start + length);
    if (crc32(payload) !== data.readUInt32BE(at + 7)) return { records, tornTail: false, corruptAt: at };
    records.push(payload);
    at = start + length;
  }
  return { records, tornTail: false };
}

/** Reads a journal file; throws only on I/O errors. */
/** True when a whole record with a matching CRC starts somewhere at or after `from`. */
function validRecordAfter(data: Buffer, from: number): boolean {
  for (let at = data.indexOf(MAGIC_0, from); at >= 0 && data.length - at >= HEADER_BYTES; at = data.indexOf(MAGIC_0, at + 1)) {
    if (data[at + 1] !== MAGIC_1 || data[at + 2] !== VERSION) continue;
    const length = data.readUInt32BE(at + 3);
    const start = at + HEADER_BYTES;
    if (data.length - start >= length && crc32(data.subarray(start, start + length)) === data.readUInt32BE(at + 7)) return true;
  }
  return false;
}

export async function readJournalFile(path: string): Promise<JournalReadResult> {
  return decodeRecords(await readFile(path));
}

/**
 * Claims every journal file in `dir`, of any owner (a crashed process's, this process's own), and
 * claimed files whose claim is older than `staleDrainingMs`, then reads them. Claiming is an atomic
 * rename, so two recoverers never take the same file. The caller moves the records into Redis, then
 * calls `complete()` for each file, or `release()` if it could not. A missing `dir` yields nothing.
 */
export async function recover(dir: string, options: RecoverOptions = {}): Promise<ClaimedJournal[]> {
  const wallClock = options.wallClock ?? Date.now;
  const staleMs = options.staleDrainingMs ?? 600_000;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if (isCode(error, 'ENOENT')) return [];
    throw error;
  }
  const claimed: ClaimedJournal[] = [];
  try {
    for (const name of names.sort()) {
      let base: string;
      if (JOURNAL_NAME.test(name)) {
        base = name;
      } else {
        const draining = DRAINING_NAME.exec(name);
        if (!draining?.[1] || wallClock() - Number(draining[2]) < staleMs) continue;
        base = draining[1];
      }
      // The claim time is in the name, so it is set by the same atomic rename that claims the file.
      const path = join(dir, `${base}.draining-${wallClock()}-${randomHex()}`);
      if (!(await renameIfExists(join(dir, name), path))) continue; // someone else claimed it
      claimed.push({ path, ...(await readJournalFile(path)) });
    }
  } catch (error) {
    await Promise.allSettled(claimed.map((c) => release(c)));
    throw error;
  }
  return claimed;
}

/**
 * The records of a claimed file are safely in Redis: deletes the file. A file with corruption is
 * renamed to `….corrupt-<ms>` instead, so the bytes that could not be read are not destroyed.
 */
export async function complete(claimed: ClaimedJournal): Promise<void> {
  // Gone means a recoverer took it as stale; it drains it again (harmless duplicates).
  if (claimed.corruptAt === undefined) {
    await unlinkIfExists(claimed.path);
  } else {
    await renameIfExists(claimed.path, `${claimed.path.replace(/\.draining-.*$/, '')}.corrupt-${Date.now()}`);
  }
}

/** Draining failed: gives the file back under a journal name, so a later `recover()` takes it again. */
export async function release(claimed: ClaimedJournal): Promise<void> {
  const base = basename(claimed.path).replace(/\.draining-.*$/, '');
  // A fresh name: the original one may belong to a live file again, and rename would replace it.
  await renameIfExists(claimed.path, join(dirname(claimed.path), asideName(base)));
}

/** `journal-<owner>[.<hex>].log` → `journal-<owner>.<new hex>.log` */
function asideName(name: string): string {
  return name.replace(/(?:\.[0-9a-f]+)?\.log$/, `.${randomHex()}.log`);
}

function randomHex(): string {
  return randomBytes(6).toString('hex');
}

/** Makes a newly created file's directory entry durable too. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some platforms (Windows) cannot fsync a directory; the file's own data is still synced.
    if (!isCode(error, 'EISDIR') && !isCode(error, 'EPERM') && !isCode(error, 'EINVAL')) throw error;
  } finally {
    await handle.close();
  }
}

/** False if `from` did not exist (someone else renamed or removed it first). */
async function renameIfExists(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, to);
    return true;
  } catch (error) {
    if (isCode(error, 'ENOENT')) return false;
    throw error;
  }
}

async function unlinkIfExists(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if (!isCode(error, 'ENOENT')) throw error;
  }
}

function isCode(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
