import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, type Stats } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { NotFoundError, StoreUnavailableError } from './errors.ts';
import type { ObjectInfo, ObjectStore } from './objectStore.ts';

/** Directory under the root where bodies are written before being moved into place; never listed. */
export const STAGING_DIR = '.pseudolabel-tmp';

/**
 * ObjectStore over a local directory (embedded mode): key `a/b/c` is the file `<root>/a/b/c`.
 * - put writes the body to a staging file and renames it over the target, so readers see the old or the new
 *   object, never a partial one.
 * - putIfAbsent stages the body and hard-links it to the target: link(2) fails with EEXIST if the target
 *   exists, so exactly one of any number of concurrent callers (threads or processes) wins, and the winner's
 *   object appears complete. Where hard links are unsupported it falls back to an exclusive create (`wx`).
 * - ETag = MD5 hex of the content (what S3 gives for single-part objects), cached per inode/size/mtime.
 * - concatenate of one part (a copy) hard-links the part's file where it can, as S3 copies server-side.
 * Unlike S3, a key cannot also be a "directory" of other keys (`a` and `a/b` cannot both exist).
 */
export class FilesystemObjectStore implements ObjectStore {
  readonly root: string;
  private readonly etags = new Map<string, { stamp: string; etag: string }>();

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  describe(key: string): string {
    return path.join(this.root, key);
  }

  async get(key: string): Promise<Uint8Array> {
    const file = this.pathOf(key);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (error) {
      throw this.translate(error, key);
    }
    // A plain Uint8Array over the read's own memory; a copy only where the read came from Node's shared
    // buffer pool (small files), whose memory other buffers use too. Copying every object cost about 0.75 s
    // per GB read (a 1M-row run's neighbors tasks read about 1 GB of cells per worker).
    const owned = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    return owned ? new Uint8Array(bytes.buffer, 0, bytes.byteLength) : new Uint8Array(bytes);
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    checkRange(start, end);
    const file = this.pathOf(key);
    try {
      const handle = await open(file, 'r');
      try {
        const info = await handle.stat();
        if (info.isDirectory()) throw new NotFoundError(this.describe(key));
        const length = Math.max(0, Math.min(end, info.size) - start);
        // Memory of its own, not zero-filled: only the bytes read are returned (a plain Uint8Array, as from get).
        // Zeroing it first cost about 0.1 s per 490 MB of a plan's newline count.
        const bytes = new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length);
        let filled = 0;
        while (filled < length) {
          const { bytesRead } = await handle.read(bytes, filled, length - filled, start + filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        return filled === length ? bytes : bytes.subarray(0, filled);
      } finally {
        await handle.close();
      }
    } catch (error) {
      throw this.translate(error, key);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const file = this.pathOf(key);
    let info: Stats;
    try {
      info = await stat(file);
    } catch (error) {
      const translated = this.translate(error, key);
      if (translated instanceof NotFoundError) return undefined;
      throw translated;
    }
    if (!info.isFile()) return undefined;
    return { key, size: info.size, etag: await this.etagOf(file, info) };
  }

  async exists(key: string): Promise<boolean> {
    const file = this.pathOf(key);
    try {
      return (await stat(file)).isFile();
    } catch (error) {
      const translated = this.translate(error, key);
      if (translated instanceof NotFoundError) return false;
      throw translated;
    }
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const target = this.pathOf(key);
    const staged = await this.stage(body);
    try {
      await withParentDir(target, () => rename(staged, target));
    } catch (error) {
      await rm(staged, { force: true });
      throw new StoreUnavailableError(this.describe(key), error);
    }
  }

  async putIfAbsent(key: string, body: Uint8Array | string): Promise<boolean> {
    const target = this.pathOf(key);
    const staged = await this.stage(body);
    try {
      await withParentDir(target, () => link(staged, target));
      return true;
    } catch (error) {
      const code = codeOf(error);
      if (code === 'EEXIST') return false;
      if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EXDEV') {
        return await this.createExclusive(key, target, body);
      }
      throw new StoreUnavailableError(this.describe(key), error);
    } finally {
      await rm(staged, { force: true });
    }
  }

  /**
   * Compare-and-swap under a lock file (created exclusively in the staging directory, one per key): the winner
   * checks the target's MD5 against `etag` and renames its staged body over it. A lock older than LOCK_STALE_MS
   * was left by a process that died holding it and is taken over. Atomic against other putIfMatch calls of any
   * process on this directory (a plain put is not serialised with it, as on S3 a plain PUT is not).
   */
  async putIfMatch(key: string, body: Uint8Array | string, etag: string): Promise<boolean> {
    const target = this.pathOf(key);
    const staged = await this.stage(body);
    const lock = path.join(this.root, STAGING_DIR, `lock-${createHash('sha256').update(key).digest('hex')}`);
    try {
      await acquireLock(lock);
      try {
        let current: Stats;
        try {
          current = await stat(target);
        } catch (error) {
          if (codeOf(error) === 'ENOENT' || codeOf(error) === 'ENOTDIR') return false;
          throw error;
        }
        if (!current.isFile() || (await this.etagOf(target, current)) !== etag) return false;
        await rename(staged, target);
        return true;
      } finally {
        await rm(lock, { force: true });
      }
    } catch (error) {
      throw this.translate(error, key);
    } finally {
      await rm(staged, { force: true });
    }
  }

  /** Streams the parts into a staging file, then renames it over the target (readers never see a partial one). */
  async concatenate(target: string, parts: readonly string[]): Promise<void> {
    const targetFile = this.pathOf(target);
    if (parts.length === 1 && (await this.linkCopy(targetFile, parts[0]))) return;
    const staged = await this.stage(new Uint8Array(0));
    try {
      for (const key of parts) {
        try {
          await pipeline(createReadStream(this.pathOf(key)), createWriteStream(staged, { flags: 'a' }));
        } catch (error) {
          throw this.translate(error, key);
        }
      }
      await withParentDir(targetFile, () => rename(staged, targetFile));
    } catch (error) {
      await rm(staged, { force: true });
      if (error instanceof NotFoundError || error instanceof RangeError) throw error;
      throw new StoreUnavailableError(this.describe(target), error);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const result: ObjectInfo[] = [];
    for (const { key, file } of await this.files(prefix)) {
      try {
        const info = await stat(file);
        result.push({ key, size: info.size, etag: await this.etagOf(file, info) });
      } catch (error) {
        if (codeOf(error) !== 'ENOENT') throw this.translate(error, key); // deleted while listing: skip it
      }
    }
    return result;
  }

  /** The keys under a prefix, in lexicographic order: `list` without reading every object for its ETag. */
  async keys(prefix: string): Promise<string[]> {
    return (await this.files(prefix)).map(({ key }) => key);
  }

  private async files(prefix: string): Promise<{ key: string; file: string }[]> {
    const slash = prefix.lastIndexOf('/');
    const dirKey = prefix.slice(0, slash + 1);
    if (dirKey !== '') checkKey(dirKey.slice(0, -1));
    const files: { key: string; file: string }[] = [];
    try {
      await this.walk(path.join(this.root, dirKey), dirKey, prefix, files);
    } catch (error) {
      throw this.translate(error, prefix);
    }
    return files.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    const file = this.pathOf(key);
    try {
      await unlink(file);
    } catch (error) {
      const code = codeOf(error);
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'EPERM') return;
      throw this.translate(error, key);
    }
    this.etags.delete(file);
    // S3 has no directories: drop the ones this delete left empty (stops at the first non-empty one). A directory
    // already gone was removed by a concurrent delete, which may have stopped at its parent while this one was
    // not yet removed: go on up, or deletes in parallel could leave empty directories behind.
    for (let dir = path.dirname(file); dir !== this.root && dir.startsWith(this.root); dir = path.dirname(dir)) {
      try {
        await rmdir(dir);
      } catch (error) {
        if (codeOf(error) !== 'ENOENT') break;
      }
    }
  }

  /**
   * Removes the empty directories below the directory `dirKey` (`a/b/`), deepest first, keeping `dirKey` itself.
   * A writer killed between creating a key's directory and renaming its body into it leaves an empty directory
   * that no key lists and so no delete removes (S3 has no directories to leave).
   */
  async pruneEmptyDirectories(dirKey: string): Promise<void> {
    checkKey(dirKey.replace(/\/$/, ''));
    const prune = async (dir: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if (codeOf(error) === 'ENOENT' || codeOf(error) === 'ENOTDIR') return;
        throw error;
      }
      for (const entry of entries) {
        if (!entry.isDirectory()) continue;
        const child = path.join(dir, entry.name);
        await prune(child);
        try {
          await rmdir(child);
        } catch (error) {
          const code = codeOf(error);
          if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOENT') throw error;
        }
      }
    };
    await prune(this.pathOf(dirKey.replace(/\/$/, '')));
  }

  /** Absolute path of a key; rejects keys that are not plain relative paths inside the root. */
  private pathOf(key: string): string {
    checkKey(key);
    return path.join(this.root, key);
  }

  /**
   * A copy of one object as a hard link to its file (what a server-side copy is on S3: no bytes move). Safe
   * because no write changes a file in place: put, putIfMatch and concatenate rename a new file over the key,
   * so the copy keeps the old content. False where hard links are unsupported (the caller streams the bytes).
   */
  private async linkCopy(targetFile: string, source: string): Promise<boolean> {
    const staged = path.join(this.root, STAGING_DIR, randomUUID());
    try {
      await withParentDir(staged, () => link(this.pathOf(source), staged));
    } catch (error) {
      const code = codeOf(error);
      if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EXDEV' || code === 'EMLINK')
        return false;
      throw this.translate(error, source);
    }
    try {
      await withParentDir(targetFile, () => rename(staged, targetFile));
      return true;
    } catch (error) {
      await rm(staged, { force: true });
      throw new StoreUnavailableError(targetFile, error);
    }
  }

  private async stage(body: Uint8Array | string): Promise<string> {
    const file = path.join(this.root, STAGING_DIR, randomUUID());
    try {
      await withParentDir(file, () => writeFile(file, body, { flag: 'wx' }));
    } catch (error) {
      await rm(file, { force: true }); // a write cut short (ENOSPC) leaves no partial file behind
      throw new StoreUnavailableError(file, error);
    }
    return file;
  }

  private async createExclusive(key: string, target: string, body: Uint8Array | string): Promise<boolean> {
    try {
      await withParentDir(target, () => writeFile(target, body, { flag: 'wx' }));
      return true;
    } catch (error) {
      if (codeOf(error) === 'EEXIST') return false;
      throw new StoreUnavailableError(this.describe(key), error);
    }
  }

  private async walk(dir: string, dirKey: string, prefix: string, out: { key: string; file: string }[]) {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      const code = codeOf(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw error;
    }
    for (const entry of entries) {
      const key = dirKey + entry.name;
      if (dirKey === '' && entry.name === STAGING_DIR) continue;
      if (entry.isDirectory()) {
        const childKey = `${key}/`;
        // Descend only where keys can still match the prefix.
        if (childKey.startsWith(prefix) || prefix.startsWith(childKey)) {
          await this.walk(path.join(dir, entry.name), childKey, prefix, out);
        }
      } else if (entry.isFile() && key.startsWith(prefix)) {
        out.push({ key, file: path.join(dir, entry.name) });
      }
    }
  }

  private async etagOf(file: string, info: Stats): Promise<string> {
    const stamp = `${info.ino}:${info.size}:${info.mtimeMs}`;
    const cached = this.etags.get(file);
    if (cached?.stamp === stamp) return cached.etag;
    const hash = createHash('md5');
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    const etag = hash.digest('hex');
    this.etags.set(file, { stamp, etag });
    return etag;
  }

  private translate(error: unknown, key: string): Error {
    if (error instanceof NotFoundError || error instanceof RangeError) return error;
    const code = codeOf(error);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return new NotFoundError(this.describe(key));
    return new StoreUnavailableError(this.describe(key), error);
  }
}

/** Keys are '/'-separated relative paths: no empty, '.' or '..' segments, no NUL, not the staging dir. */
function checkKey(key: string): void {
  const segments = key.split('/');
  const bad =
    key === '' ||
    key.includes('\0') ||
    segments.some((s) => s === '' || s === '.' || s === '..') ||
    segments[0] === STAGING_DIR;
  if (bad) throw new RangeError(`invalid object key for a filesystem store: ${JSON.stringify(key)}`);
}

function checkRange(start: number, end: number): void {
  if (!Number.isSafeInteger(start) || start < 0) throw new RangeError(`range start must be an integer >= 0: ${start}`);
  if (!Number.isSafeInteger(end) || end < 0) throw new RangeError(`range end must be an integer >= 0: ${end}`);
}

/** A putIfMatch lock held longer than this was left by a dead process (a swap takes milliseconds). */
const LOCK_STALE_MS = 30_000;

/** Creates `lock` exclusively, waiting while another holder has it; takes over a stale one. */
async function acquireLock(lock: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(lock, String(process.pid), { flag: 'wx' });
      return;
    } catch (error) {
      if (codeOf(error) !== 'EEXIST') throw error;
    }
    try {
      if (Date.now() - (await stat(lock)).mtimeMs > LOCK_STALE_MS) await rm(lock, { force: true });
    } catch (error) {
      if (codeOf(error) !== 'ENOENT') throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(50, 2 + attempt)));
  }
}

/** Runs an operation that creates `file`, creating its directory first; retried if a delete pruned it meanwhile. */
async function withParentDir<T>(file: string, operation: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    await mkdir(path.dirname(file), { recursive: true });
    try {
      return await operation();
    } catch (error) {
      if (codeOf(error) !== 'ENOENT' || attempt >= 3) throw error;
    }
  }
}

function codeOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}
