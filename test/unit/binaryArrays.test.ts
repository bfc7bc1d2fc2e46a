import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packArrays, readPackedRange, unpackArrays } from '../../lib/pipeline/binaryArrays.ts';

type Packable = Int32Array | Float64Array | Float32Array | Uint8Array;

const packable: fc.Arbitrary<Packable> = fc.oneof(
  fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 20 }).map((a) => Int32Array.from(a)),
  fc.array(fc.double(), { maxLength: 20 }).map((a) => Float64Array.from(a)),
  fc.array(fc.float(), { maxLength: 20 }).map((a) => Float32Array.from(a)),
  fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 20 }).map((a) => Uint8Array.from(a)),
);

function expectSameArrays(actual: Packable[], expected: readonly Packable[]): void {
  expect(actual.map((a) => a.constructor.name)).toEqual(expected.map((a) => a.constructor.name));
  actual.forEach((a, i) => {
    // Object.is semantics: NaN and -0 must survive too.
    expect(Array.from(a)).toEqual(Array.from(expected[i]));
  });
}

describe('binaryArrays', () => {
  it('round-trips arrays of every kind, in order', () => {
    // Prepare
    const arrays = [
      Int32Array.from([1, -2, 2 ** 31 - 1]),
      Float64Array.from([0.1, Number.NaN, -0, Number.POSITIVE_INFINITY]),
      Float32Array.from([1.5, -2.25]),
      Uint8Array.from([0, 255, 7]),
    ];

    // Act
    const unpacked = unpackArrays(packArrays(arrays));

    // Assess
    expectSameArrays(unpacked, arrays);
  });

  it('round-trips no arrays and empty arrays', () => {
    // Prepare
    const arrays = [new Float64Array(0), new Uint8Array(0), Int32Array.from([5])];

    // Act
    const none = unpackArrays(packArrays([]));
    const empties = unpackArrays(packArrays(arrays));

    // Assess
    expect(none).toEqual([]);
    expect(packArrays([]).length).toBe(8);
    expectSameArrays(empties, arrays);
  });

  it('pads every array to 8 bytes: 8 + 16 per array + its aligned bytes', () => {
    // Act
    const packed = packArrays([Uint8Array.from([1, 2, 3]), Float32Array.from([1, 2, 3])]);

    // Assess
    expect(packed.length).toBe(8 + (16 + 8) + (16 + 16));
  });

  it('packs only the viewed part of a subarray', () => {
    // Prepare
    const whole = Float64Array.from([1, 2, 3, 4, 5]);
    const view = whole.subarray(1, 3);

    // Act
    const [unpacked] = unpackArrays(packArrays([view]));

    // Assess
    expect(Array.from(unpacked)).toEqual([2, 3]);
  });

  it('reads bytes that start at an offset not aligned to 8', () => {
    // Prepare
    const packed = packArrays([Float64Array.from([Math.PI, Math.E]), Int32Array.from([-7])]);
    const shifted = new Uint8Array(packed.length + 3);
    shifted.set(packed, 3);

    // Act
    const unpacked = unpackArrays(shifted.subarray(3));

    // Assess
    expectSameArrays(unpacked, [Float64Array.from([Math.PI, Math.E]), Int32Array.from([-7])]);
  });

  it('round-trips a Node Buffer as a Uint8Array (Buffer is a Uint8Array subclass)', () => {
    // Prepare
    const buffer = Buffer.from([9, 8, 7]);

    // Act
    const unpacked = unpackArrays(packArrays([buffer, Int32Array.from([1])]));

    // Assess
    expect(unpacked[0]).toBeInstanceOf(Uint8Array);
    expect(Array.from(unpacked[0])).toEqual([9, 8, 7]);
    expect(Array.from(unpacked[1])).toEqual([1]);
  });

  it('round-trips any list of arrays at any byte offset (property)', () => {
    fc.assert(
      fc.property(fc.array(packable, { maxLength: 6 }), fc.integer({ min: 0, max: 15 }), (arrays, misalign) => {
        // Prepare
        const packed = packArrays(arrays);
        const shifted = new Uint8Array(packed.length + misalign);
        shifted.set(packed, misalign);

        // Act
        const unpacked = unpackArrays(shifted.subarray(misalign));

        // Assess
        expect(packed.length % 8).toBe(0);
        expectSameArrays(unpacked, arrays);
      }),
    );
  });
});

describe('readPackedRange', () => {
  const store = (bytes: Uint8Array) => ({
    getRange: async (_key: string, start: number, end: number) => bytes.slice(start, Math.min(end, bytes.length)),
  });

  it('reads elements [start, end) of the first array, as unpackArrays would give them', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 30 }),
        fc.nat(),
        fc.nat(),
        async (values, a, b) => {
          // Prepare
          const packed = packArrays([Int32Array.from(values), Float64Array.from([1, 2])]);
          const start = values.length === 0 ? 0 : a % (values.length + 1);
          const end = start + (b % (values.length - start + 1));
          // Act
          const range = await readPackedRange(store(packed), 'labels.bin', start, end);
          // Assess
          expect(range).toBeInstanceOf(Int32Array);
          expect(Array.from(range)).toEqual(values.slice(start, end));
        },
      ),
    );
  });

  it('refuses a range past the array, naming the object', async () => {
    // Prepare
    const packed = packArrays([Int32Array.from([1, 2, 3])]);
    // Act
    const read = readPackedRange(store(packed), 'runs/r/labels.bin', 2, 4);
    // Assess
    await expect(read).rejects.toThrow('runs/r/labels.bin: elements [2, 4) are outside its first array of 3');
  });
});
