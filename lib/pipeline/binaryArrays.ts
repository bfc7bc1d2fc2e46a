/**
 * A tiny container for typed arrays written by one stage and read by another (neighbor lists, outcomes):
 * a count, then for each array its kind, length and little-endian bytes, 8-byte aligned.
 */
type Packable = Int32Array | Float64Array | Float32Array | Uint8Array;

const CONSTRUCTORS = [Int32Array, Float64Array, Float32Array, Uint8Array] as const;

export function packArrays(arrays: readonly Packable[]): Uint8Array {
  let size = 8;
  for (const a of arrays) size += 16 + align8(a.byteLength);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, arrays.length, true);
  let offset = 8;
  for (const a of arrays) {
    const kind = CONSTRUCTORS.findIndex((Kind) => a instanceof Kind);
    if (kind < 0) throw new TypeError(`cannot pack a ${a.constructor.name}`);
    view.setUint32(offset, kind, true);
    view.setFloat64(offset + 8, a.length, true);
    offset += 16;
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), offset);
    offset += align8(a.byteLength);
  }
  return out;
}

export function unpackArrays(bytes: Uint8Array): Packable[] {
  const copy = bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
  const view = new DataView(copy.buffer, copy.byteOffset, copy.byteLength);
  const count = view.getUint32(0, true);
  const arrays: Packable[] = [];
  let offset = 8;
  for (let i = 0; i < count; i++) {
    const Kind = CONSTRUCTORS[view.getUint32(offset, true)];
    const length = view.getFloat64(offset + 8, true);
    offset += 16;
    arrays.push(new Kind(copy.buffer as ArrayBuffer, copy.byteOffset + offset, length));
    offset += align8(length * Kind.BYTES_PER_ELEMENT);
  }
  return arrays;
}

function align8(bytes: number): number {
  return Math.ceil(bytes / 8) * 8;
}

/**
 * Elements [start, end) of the first array of a packed object, read with ranged GETs (its header, then the
 * bytes), so a task can read its rows of a run-wide array without the rest.
 */
export async function readPackedRange(
  store: { getRange(key: string, start: number, end: number): Promise<Uint8Array> },
  key: string,
  start: number,
  end: number,
): Promise<Packable> {
  const header = await store.getRange(key, 0, 24);
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const Kind = CONSTRUCTORS[view.getUint32(8, true)];
  const length = view.getFloat64(16, true);
  if (view.getUint32(0, true) < 1 || !Kind || start < 0 || end > length || start > end) {
    throw new RangeError(`${key}: elements [${start}, ${end}) are outside its first array of ${length}`);
  }
  const size = Kind.BYTES_PER_ELEMENT;
  if (end === start) return new Kind(0);
  const bytes = (await store.getRange(key, 24 + start * size, 24 + end * size)).slice();
  return new Kind(bytes.buffer as ArrayBuffer, 0, end - start);
}

/**
 * Where the data of a packed object's array number byteLengths.length starts, given the byte lengths of the
 * arrays before it: the bytes to read for a small index kept in its first arrays (unpackLeading), from which
 * the positions of ranges of a large array after them follow.
 */
export function packedDataStart(byteLengths: readonly number[]): number {
  let offset = 8;
  for (const bytes of byteLengths) offset += 16 + align8(bytes);
  return offset + 16;
}

/**
 * The first `count` arrays of a packed object from its leading bytes (packedDataStart of their lengths), and the
 * kind, length and data start of the array after them. Throws a RangeError when the bytes are not such a prefix.
 */
export function unpackLeading(
  bytes: Uint8Array,
  count: number,
): { arrays: Packable[]; next: { kind: string; length: number; start: number } } {
  const copy = bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
  const view = new DataView(copy.buffer, copy.byteOffset, copy.byteLength);
  const fail = () => new RangeError(`${bytes.byteLength} leading bytes do not hold ${count + 1} packed arrays`);
  if (copy.byteLength < 8 || view.getUint32(0, true) < count + 1) throw fail();
  const arrays: Packable[] = [];
  let offset = 8;
  for (let i = 0; i <= count; i++) {
    if (offset + 16 > copy.byteLength) throw fail();
    const Kind = CONSTRUCTORS[view.getUint32(offset, true)];
    const length = view.getFloat64(offset + 8, true);
    if (Kind === undefined || !Number.isInteger(length) || length < 0) throw fail();
    offset += 16;
    if (i === count) return { arrays, next: { kind: Kind.name, length, start: offset } };
    if (offset + length * Kind.BYTES_PER_ELEMENT > copy.byteLength) throw fail();
    arrays.push(new Kind(copy.buffer as ArrayBuffer, copy.byteOffset + offset, length));
    offset += align8(length * Kind.BYTES_PER_ELEMENT);
  }
  throw fail();
}
