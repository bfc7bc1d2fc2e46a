/** The most a table's slots are filled before it grows: 8 / MAX_LOAD = 11.4 bytes per id when presized. */
const MAX_LOAD = 0.7;
/** Most slots of one table: two 32-bit words each, one Uint32Array of at most 2^31 words (8 GiB). */
const MAX_SLOTS = 2 ** 30;
/** Most ids of one table (751,619,276). */
export const MAX_IDS = Math.floor(MAX_LOAD * MAX_SLOTS);

/** Bytes an IdHashes presized for `ids` ids takes: 8 bytes a slot, at most MAX_LOAD of them filled. */
export function idHashesBytes(ids: number): number {
  return 8 * slotsFor(ids);
}

function slotsFor(ids: number): number {
  return Math.min(MAX_SLOTS, Math.max(1024, Math.ceil(ids / MAX_LOAD)));
}

const TWO_TO_32 = 2 ** 32;

/**
 * The 64-bit hash of an id's UTF-8 bytes bytes[start .. end), as two 32-bit words written to out[0] and out[1]:
 * FNV-1a and a Murmur-style multiply-xor over the same bytes, each finished by Murmur3's fmix32 so that every
 * bit of a word depends on every byte.
 */
export function hashId(bytes: Uint8Array, start: number, end: number, out: Uint32Array): void {
  let a = 0x811c9dc5;
  let b = 0x9747b28c ^ (end - start);
  for (let i = start; i < end; i++) {
    a = Math.imul(a ^ bytes[i], 0x01000193);
    b = Math.imul(b ^ bytes[i], 0x5bd1e995);
    b ^= b >>> 15;
  }
  out[0] = fmix32(a);
  out[1] = fmix32(b);
  if (out[0] === 0 && out[1] === 0) out[1] = 1; // 0, 0 marks an empty slot
}

/** Writes the 64-bit hash of the id bytes[start .. end) to out[0], out[1], never 0, 0. */
export type IdHasher = (bytes: Uint8Array, start: number, end: number, out: Uint32Array) => void;

/**
 * Tests only: set (to anything but empty), ids hash by their byte length alone, so every two ids of one length
 * collide, and the byte-for-byte re-check of collect (duplicateIds.ts) is what tells them apart.
 */
export const WEAK_ID_HASH_ENV = 'PSEUDOLABEL_WEAK_ID_HASH';

/** The hasher of this process: hashId, or the length-only hash of WEAK_ID_HASH_ENV. */
export function idHasher(env: NodeJS.ProcessEnv = process.env): IdHasher {
  const weak = env[WEAK_ID_HASH_ENV];
  if (weak === undefined || weak === '') return hashId;
  return (_bytes, start, end, out) => {
    out[0] = end - start;
    out[1] = 1;
  };
}

function fmix32(h: number): number {
  let x = h ^ (h >>> 16);
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * The 64-bit hashes of the ids seen so far, to find repeated ids among every row of a run in 8 bytes a slot,
 * not the ids themselves (collect's duplicate-id detection, issue 16). Open addressing with linear probing over
 * slots of two 32-bit words (0, 0 marks an empty slot: hashId never gives it), any number of slots
 * (the slot is the high word scaled to the table), at most MAX_LOAD full.
 *
 * A repeated hash is a repeated id or, with probability about n^2 / 2^65 over the run (3e-4 at 100M rows), two
 * ids that collide: the caller re-checks the ids of the repeated hashes byte for byte (duplicateIds.ts).
 *
 * Limit: 11.4 bytes per id when presized with the row count (collect knows it from the ingest markers), up to
 * three times that while a table that was not presized grows; at most MAX_IDS ids. The capacity model
 * (capacity.ts, collect) budgets it and refuses a run past MAX_IDS.
 */
export class IdHashes {
  private slots: Uint32Array;
  private capacity: number;
  private count = 0;
  private readonly hash = new Uint32Array(2);

  /** A table sized for `expected` ids (it grows past them). */
  constructor(
    expected = 0,
    private readonly hashOf: IdHasher = hashId,
  ) {
    this.capacity = slotsFor(expected);
    this.slots = new Uint32Array(2 * this.capacity);
  }

  /** Hashes stored. */
  get size(): number {
    return this.count;
  }

  /** Bytes the table takes. */
  get bytes(): number {
    return this.slots.byteLength;
  }

  /**
   * Whether the id whose UTF-8 bytes are bytes[start .. end) has the hash of an id added before (it is then not
   * added again); else adds it and returns false. Its hash is left in `lastHash`.
   */
  seenOrAdd(bytes: Uint8Array, start: number, end: number): boolean {
    const { hash } = this;
    this.hashOf(bytes, start, end, hash);
    return this.seenOrAddHash(hash[0], hash[1]);
  }

  /**
   * seenOrAdd for an id hashed before (an ingest task's summary holds its shard's hashes: shardSummary.ts), by
   * its two words (never both 0); the hash is left in `lastHash`.
   */
  seenOrAddHash(high: number, low: number): boolean {
    this.hash[0] = high;
    this.hash[1] = low;
    const { slots, capacity } = this;
    let slot = this.slotOf(high, capacity);
    for (; slots[2 * slot] !== 0 || slots[2 * slot + 1] !== 0; slot = slot + 1 === capacity ? 0 : slot + 1) {
      if (slots[2 * slot] === high && slots[2 * slot + 1] === low) return true;
    }
    if (this.count >= MAX_IDS) throw new RangeError(`an id table holds at most ${MAX_IDS.toLocaleString('en-US')} ids`);
    slots[2 * slot] = high;
    slots[2 * slot + 1] = low;
    this.count++;
    if (this.count > MAX_LOAD * capacity) this.grow();
    return false;
  }

  /** The hash of the id last given to seenOrAdd (two words, valid until the next call). */
  get lastHash(): Uint32Array {
    return this.hash;
  }

  private slotOf(high: number, capacity: number): number {
    return Math.min(capacity - 1, Math.floor((high / TWO_TO_32) * capacity));
  }

  private grow(): void {
    const capacity = Math.min(MAX_SLOTS, 2 * this.capacity);
    const slots = new Uint32Array(2 * capacity);
    const old = this.slots;
    for (let s = 0; s < this.capacity; s++) {
      const high = old[2 * s];
      const low = old[2 * s + 1];
      if (high === 0 && low === 0) continue;
      let slot = this.slotOf(high, capacity);
      while (slots[2 * slot] !== 0 || slots[2 * slot + 1] !== 0) slot = slot + 1 === capacity ? 0 : slot + 1;
      slots[2 * slot] = high;
      slots[2 * slot + 1] = low;
    }
    this.slots = slots;
    this.capacity = capacity;
  }
}
