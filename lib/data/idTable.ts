/** Most ids of one table: its slots (twice as many, 32-bit entry numbers) stay within 2^31 entries. */
export const MAX_IDS = 2 ** 30;
/** Most bytes of all ids together: their offsets are 32-bit. */
export const MAX_ID_BYTES = 2 ** 32 - 1;

/**
 * The most an IdTable of `ids` ids of `idBytes` bytes in all may take: 48 bytes per id (24 once its arrays are
 * full) plus twice the ids' bytes, and its first arrays (64 KiB).
 */
export function idTableBytes(ids: number, idBytes: number): number {
  return 48 * ids + 2 * idBytes + 2 ** 16;
}

/**
 * Ids by their UTF-8 bytes, to find repeats among a run's rows without making a string of each id (collect
 * checks every id of a run: a Map of 1M string ids took about 0.45 s to fill). Open addressing with linear
 * probing over 32-bit FNV-1a hashes of the bytes; a hash match is confirmed byte for byte, so two ids are
 * the same exactly when their bytes are.
 *
 * Limit: this is the largest structure of a run that grows with every row in one process (the collect step).
 * It takes 24 bytes per id (hash 4, value 8, offset 4, slots at most half full: 8) plus the id's bytes, and up to
 * twice that while its arrays grow by doubling: about 42 bytes per row for 10-byte ids (measured at 2M rows),
 * so about 4.2 GB at 100M rows. collect refuses, shard by shard before adding its ids, a run whose table could pass
 * half the host's memory (idTableBytes, checkIdTableMemory in runLimits.ts); the table itself refuses more than
 * MAX_IDS ids (its slots are 32-bit).
 */
export class IdTable {
  /** Entry number + 1 per slot, 0 for an empty slot; the length is a power of two, at most half full. */
  private slots = new Int32Array(1 << 12);
  private hashes = new Uint32Array(1 << 11);
  private values = new Float64Array(1 << 11);
  /** Entry e's bytes are keys[starts[e] .. starts[e + 1]). */
  private starts = new Uint32Array((1 << 11) + 1);
  private keys = new Uint8Array(1 << 14);
  private count = 0;

  /** Ids stored. */
  get size(): number {
    return this.count;
  }

  /** Bytes of all ids stored. */
  get idBytes(): number {
    return this.starts[this.count];
  }

  /** Bytes the table's arrays take. */
  get bytes(): number {
    return (
      this.slots.byteLength +
      this.hashes.byteLength +
      this.values.byteLength +
      this.starts.byteLength +
      this.keys.byteLength
    );
  }

  /**
   * The value stored with the id whose bytes are bytes[start .. end), or undefined after storing `value` with
   * it (the first occurrence keeps its value).
   */
  firstOrAdd(bytes: Uint8Array, start: number, end: number, value: number): number | undefined {
    let hash = 0x811c9dc5;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193);
    hash >>>= 0;
    const mask = this.slots.length - 1;
    let slot = hash & mask;
    for (; this.slots[slot] !== 0; slot = (slot + 1) & mask) {
      const entry = this.slots[slot] - 1;
      if (this.hashes[entry] === hash && this.sameBytes(entry, bytes, start, end)) return this.values[entry];
    }
    this.store(slot, hash, bytes, start, end, value);
    return undefined;
  }

  private sameBytes(entry: number, bytes: Uint8Array, start: number, end: number): boolean {
    const from = this.starts[entry];
    if (this.starts[entry + 1] - from !== end - start) return false;
    for (let i = 0; i < end - start; i++) if (this.keys[from + i] !== bytes[start + i]) return false;
    return true;
  }

  private store(slot: number, hash: number, bytes: Uint8Array, start: number, end: number, value: number): void {
    const entry = this.count;
    if (entry >= MAX_IDS) throw new RangeError(`an id table holds at most ${MAX_IDS.toLocaleString('en-US')} ids`);
    if (this.starts[entry] + (end - start) > MAX_ID_BYTES) {
      throw new RangeError(`an id table holds at most ${MAX_ID_BYTES.toLocaleString('en-US')} bytes of ids`);
    }
    if (entry === this.hashes.length) this.growEntries();
    const from = this.starts[entry];
    if (from + (end - start) > this.keys.length) this.keys = grown(this.keys, 2 * (from + (end - start)));
    this.keys.set(bytes.subarray(start, end), from);
    this.starts[entry + 1] = from + (end - start);
    this.hashes[entry] = hash;
    this.values[entry] = value;
    this.slots[slot] = entry + 1;
    this.count++;
    if (2 * this.count > this.slots.length) this.rehash(2 * this.slots.length);
  }

  private growEntries(): void {
    const capacity = 2 * this.hashes.length;
    this.hashes = grown(this.hashes, capacity);
    this.values = grown(this.values, capacity);
    this.starts = grown(this.starts, capacity + 1);
  }

  private rehash(size: number): void {
    const slots = new Int32Array(size);
    const mask = size - 1;
    for (let entry = 0; entry < this.count; entry++) {
      let slot = this.hashes[entry] & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = entry + 1;
    }
    this.slots = slots;
  }
}

function grown<T extends Uint8Array | Uint32Array | Float64Array>(array: T, length: number): T {
  const next = new (array.constructor as new (length: number) => T)(length);
  next.set(array);
  return next;
}
