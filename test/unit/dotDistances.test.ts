import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type FeatureMatrix, featureMatrix } from '../../lib/data/featureMatrix.ts';
import { emptyKnnResult, type KnnResult, knnSearch, knnSelfSearch } from '../../lib/graph/knnSearch.ts';
import { type DistanceKernel, distanceTiles } from '../../lib/linalg/distanceTiles.ts';
import { dotDistancesPacked, dotSquaredDistance, packRowsF32, rowNormsF32 } from '../../lib/linalg/dotDistances.ts';
import { codeNorm } from '../../lib/linalg/int16Codes.ts';
import { seededUniform } from '../../lib/linalg/seededRandom.ts';
import { squaredDistance } from '../../lib/linalg/squaredDistances.ts';
import { offerTileRows, offerTopK } from '../../lib/linalg/topK.ts';
import { dotKernelSourceSha256 } from '../../lib/linalg/wasm/dotKernelBytes.ts';
import { instantiateKernels, wasmSimdAvailable } from '../../lib/linalg/wasm/kernelModule.ts';
import { WasmDotTiles } from '../../lib/linalg/wasm/wasmDotTiles.ts';

/** Uniform rows in centre +- 1 (a centre far from 0 makes the dot expansion cancel more). */
function randomMatrix(n: number, d: number, seed: number, centre = 0): FeatureMatrix {
  const rand = seededUniform(seed);
  const data = new Float32Array(n * d);
  for (let i = 0; i < data.length; i++) data[i] = centre + rand() * 2 - 1;
  return featureMatrix(data, n, d);
}

/** Small integers: exact in every kernel, many ties and duplicates. */
function gridMatrix(n: number, d: number, seed: number): FeatureMatrix {
  const rand = seededUniform(seed);
  const data = new Float32Array(n * d);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(rand() * 3);
  return featureMatrix(data, n, d);
}

function rowsOf(X: FeatureMatrix, start: number, end: number): FeatureMatrix {
  return featureMatrix(X.data.slice(start * X.d, end * X.d), end - start, X.d);
}

/** Every pair by the scalar dot reference, sorted by (distance, index). */
function bruteForceDot(query: FeatureMatrix, reference: FeatureMatrix, k: number): KnnResult {
  const out = emptyKnnResult(query.n, k);
  for (let q = 0; q < query.n; q++) {
    const all: [number, number][] = [];
    for (let r = 0; r < reference.n; r++) all.push([dotSquaredDistance(query.data, q, reference.data, r, query.d), r]);
    all.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    for (let s = 0; s < Math.min(k, all.length); s++) {
      out.distances[q * k + s] = all[s][0];
      out.indices[q * k + s] = all[s][1];
    }
  }
  return out;
}

/** The tile of a kernel for rows [q0, q1) x [r0, r1), copied out without its padding. */
function tileOf(
  kernel: DistanceKernel,
  X: FeatureMatrix,
  q0: number,
  q1: number,
  r0: number,
  r1: number,
): Float64Array {
  const tiles = distanceTiles(kernel, X.d, q1 - q0, r1 - r0);
  tiles.setQuery(X.data, q0, q1);
  tiles.setReference(X.data, r0, r1);
  tiles.compute();
  const out = new Float64Array((q1 - q0) * (r1 - r0));
  for (let i = 0; i < q1 - q0; i++) {
    for (let j = 0; j < r1 - r0; j++) out[i * (r1 - r0) + j] = tiles.tile[i * tiles.stride + j];
  }
  return out;
}

describe('dot-product distances', () => {
  it('agree with the direct sum of squared differences within 1e-4 relative', () => {
    // Prepare: centred at 3, so |x|^2 is about 10 times the typical distance
    const X = randomMatrix(97, 64, 1, 3);

    // Act
    const dot = tileOf('dot', X, 0, 97, 0, 97);
    const wasm = tileOf('wasm', X, 0, 97, 0, 97);

    // Assess
    let worst = 0;
    for (let i = 0; i < 97; i++) {
      for (let j = 0; j < 97; j++) {
        const direct = squaredDistance(X.data, i, X.data, j, 64);
        if (i === j) {
          expect(dot[i * 97 + j]).toBe(0);
          continue;
        }
        worst = Math.max(worst, Math.abs(dot[i * 97 + j] - direct) / direct);
      }
    }
    expect(worst).toBeLessThan(1e-4);
    expect(wasm).toEqual(dot);
  });

  it('give the SIMD kernel and the JS kernel the same bits as the scalar reference, for any tile shape (property)', () => {
    // Prepare
    expect(wasmSimdAvailable()).toBe(true);
    const X = randomMatrix(61, 13, 2, 0.5);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 1, max: 61 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 1, max: 61 }),
        (qa, qLen, ra, rLen) => {
          const q0 = Math.min(qa, 61 - 1);
          const q1 = Math.min(61, q0 + qLen);
          const r0 = Math.min(ra, 61 - 1);
          const r1 = Math.min(61, r0 + rLen);

          // Act
          const dot = tileOf('dot', X, q0, q1, r0, r1);
          const wasm = tileOf('wasm', X, q0, q1, r0, r1);

          // Assess
          for (let i = q0; i < q1; i++) {
            for (let j = r0; j < r1; j++) {
              const want = dotSquaredDistance(X.data, i, X.data, j, X.d);
              const at = (i - q0) * (r1 - r0) + (j - r0);
              expect(dot[at]).toBe(want);
              expect(wasm[at]).toBe(want);
            }
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('offer open lists in the module exactly as offerTileRows does: ties, repeats, partial and long lists (property)', () => {
    // Prepare: tie-heavy grid rows; each list is empty, or holds some of the tile's own pairs (so offering
    // the tile repeats them), with at least one empty slot so the row takes the module's offerRow (k <= 64)
    expect(wasmSimdAvailable()).toBe(true);
    const X = gridMatrix(90, 5, 8);
    fc.assert(
      fc.property(
        fc.constantFrom(1, 3, 10, 64, 70),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (k, nq, nr, seed) => {
          const rand = seededUniform(seed);
          const tiles = new WasmDotTiles(X.d, nq, nr);
          tiles.setQuery(X.data, 0, nq);
          tiles.setReference(X.data, 40, 40 + nr);
          const references = Int32Array.from({ length: nr }, () => Math.floor(rand() * 1000));
          const lists = Int32Array.from({ length: nq }, (_, i) => nq - 1 - i);
          const wasm = emptyKnnResult(nq, k);
          for (let i = 0; i < nq; i++) {
            const held = Math.floor(rand() * k); // < k: a slot stays empty
            for (let e = 0; e < held; e++) {
              const j = Math.floor(rand() * nr);
              const v = dotSquaredDistance(X.data, i, X.data, 40 + j, X.d);
              offerTopK(wasm.distances, wasm.indices, lists[i] * k, k, v, references[j]);
            }
          }
          const js = { distances: wasm.distances.slice(), indices: wasm.indices.slice() };

          // Act
          tiles.computeAndOffer(lists, references, k, wasm.distances, wasm.indices);
          offerTileRows(tiles.tile, tiles.stride, nq, nr, lists, references, k, js.distances, js.indices);

          // Assess
          expect(Array.from(wasm.indices)).toEqual(Array.from(js.indices));
          expect(Array.from(wasm.distances)).toEqual(Array.from(js.distances));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('clamp the expansion at 0: never negative, exactly 0 for identical rows far from the origin', () => {
    // Prepare: rows 1000 + tiny offsets, where |x|^2 + |y|^2 - 2 x.y cancels catastrophically; rows 0 and 5 equal
    const rand = seededUniform(3);
    const data = new Float32Array(8 * 16);
    for (let i = 0; i < data.length; i++) data[i] = 1000 + rand() * 1e-3;
    data.copyWithin(5 * 16, 0, 16);
    const X = featureMatrix(data, 8, 16);

    // Act
    const wasm = tileOf('wasm', X, 0, 8, 0, 8);

    // Assess
    for (const v of wasm) expect(v).toBeGreaterThanOrEqual(0);
    expect(wasm[0 * 8 + 5]).toBe(0);
    expect(wasm[5 * 8 + 0]).toBe(0);
    for (let i = 0; i < 8; i++) expect(wasm[i * 8 + i]).toBe(0);
  });

  it('computes norms by the same sequence as the dot products', () => {
    // Prepare
    const X = randomMatrix(5, 33, 4, 2);
    const packed = new Float32Array(5 * 33);
    packRowsF32(X.data, 33, 0, 5, packed);
    const norms = new Float64Array(5);
    const tile = new Float64Array(25);

    // Act
    rowNormsF32(packed, 5, 33, norms);
    dotDistancesPacked(packed, norms, 5, packed, norms, 5, 33, tile);

    // Assess: the diagonal is exactly |x|^2 + |x|^2 - 2 x.x = 0
    for (let i = 0; i < 5; i++) expect(tile[i * 5 + i]).toBe(0);
    expect(() => dotDistancesPacked(packed, norms, 5, packed, norms, 5, 33, new Float64Array(3))).toThrow(RangeError);
  });

  it('rejects blocks larger than the SIMD tiles were sized for', () => {
    // Prepare
    const X = randomMatrix(10, 4, 5);
    const tiles = new WasmDotTiles(4, 3, 5);

    // Act / Assess
    expect(() => tiles.setQuery(X.data, 0, 4)).toThrow(/query block holds 3 rows/);
    expect(() => tiles.setReference(X.data, 0, 6)).toThrow(/reference block holds 5 rows/);
    expect(() => distanceTiles('fast' as DistanceKernel, 4, 1, 1)).toThrow(/unknown distance kernel 'fast'/);
  });

  it('lays rows out in blocks of lanes and sums squared codes as the JS definitions do (property)', () => {
    type Layout = {
      panels(src: number, n: number, width: number, lanes: number, dst: number): void;
      codeNorms(src: number, n: number, pairs: number, dst: number): void;
    };
    const { exports, buffer } = instantiateKernels<Layout>(1 << 16);
    const i32 = new Int32Array(buffer);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 21 }),
        fc.integer({ min: 1, max: 13 }),
        fc.constantFrom(4, 8),
        fc.integer({ min: 0, max: 1000 }),
        (n, width, lanes, seed) => {
          // Prepare: rows of words of two codes each, within the limit int16Codes keeps (sums below 2^31), at 0
          const rand = seededUniform(seed);
          const limit = Math.floor(Math.sqrt((2 ** 31 - 1) / (6 * width))) - 1;
          const code = () => Math.round((rand() * 2 - 1) * limit);
          const words = Int32Array.from({ length: n * width }, () => (code() << 16) | (code() & 0xffff));
          const blocks = Math.ceil(n / lanes);
          i32.fill(-1, 0, 16384);
          i32.set(words, 0);

          // Act
          exports.panels(0, n, width, lanes, 16384);
          const laidOut = i32.slice(4096, 4096 + blocks * lanes * width);
          exports.codeNorms(0, n, width, 32768);
          const norms = i32.slice(8192, 8192 + n);

          // Assess
          for (let r = 0; r < blocks * lanes; r++) {
            for (let e = 0; e < width; e++) {
              const at = Math.floor(r / lanes) * lanes * width + e * lanes + (r % lanes);
              expect(laidOut[at]).toBe(r < n ? words[r * width + e] : 0);
            }
          }
          for (let r = 0; r < n; r++) expect(norms[r]).toBe(codeNorm(words, r * width, width));
        },
      ),
      { numRuns: 80 },
    );
  });

  it('ships WebAssembly bytes built from the committed .wat source', () => {
    // Prepare
    const here = dirname(fileURLToPath(import.meta.url));
    const wat = readFileSync(join(here, '../../lib/linalg/wasm/dotKernel.wat'), 'utf8');

    // Act
    const sha = createHash('sha256').update(wat).digest('hex');

    // Assess: on failure run `npm run build:wasm` (scripts/buildDotKernel.mjs)
    expect(dotKernelSourceSha256).toBe(sha);
  });
});

describe('knnSearch with the dot-product kernels', () => {
  for (const kernel of ['dot', 'wasm'] as const) {
    it(`'${kernel}' breaks ties by the lower index and matches brute force on tie-heavy grids (property)`, () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 50 }),
          fc.integer({ min: 1, max: 5 }),
          fc.integer({ min: 1, max: 12 }),
          fc.integer({ min: 1, max: 17 }),
          fc.integer({ min: 1, max: 23 }),
          fc.nat(),
          (n, d, kWanted, qb, rb, seed) => {
            // Prepare
            const X = gridMatrix(n, d, seed);
            const k = Math.min(kWanted, n);

            // Act
            const actual = knnSearch(X, X, k, { kernel, queryBlock: qb, referenceBlock: rb });

            // Assess: integer rows make every kernel exact, so brute force by either definition agrees
            const expected = bruteForceDot(X, X, k);
            expect(actual.indices).toEqual(expected.indices);
            expect(actual.distances).toEqual(expected.distances);
          },
        ),
        { numRuns: 40 },
      );
    });
  }

  it("'wasm' lists do not depend on tiles, reference blocks (shards) or their order", () => {
    // Prepare
    const X = randomMatrix(203, 24, 6, 1);
    const k = 7;
    const whole = knnSearch(X, X, k, { kernel: 'wasm' });
    const state = emptyKnnResult(X.n, k);

    // Act
    const retiled = knnSearch(X, X, k, { kernel: 'wasm', queryBlock: 5, referenceBlock: 9 });
    for (const [start, end] of [
      [150, 203],
      [0, 61],
      [61, 150],
    ]) {
      knnSearch(X, rowsOf(X, start, end), k, { kernel: 'wasm', into: state, referenceOffset: start, queryBlock: 33 });
    }
    const self = knnSelfSearch(X, k, { kernel: 'wasm', block: 40 });

    // Assess
    for (const other of [retiled, state, self]) {
      expect(other.indices).toEqual(whole.indices);
      expect(other.distances).toEqual(whole.distances);
    }
  });

  it("'dot' and 'wasm' give identical lists, close to 'direct' ones", () => {
    // Prepare
    const X = randomMatrix(300, 32, 7);

    // Act
    const dot = knnSearch(X, X, 5, { kernel: 'dot' });
    const wasm = knnSearch(X, X, 5, { kernel: 'wasm' });
    const direct = knnSearch(X, X, 5);

    // Assess
    expect(wasm.indices).toEqual(dot.indices);
    expect(wasm.distances).toEqual(dot.distances);
    let same = 0;
    for (let i = 0; i < direct.indices.length; i++) {
      if (direct.indices[i] === wasm.indices[i]) {
        same++;
        const d = direct.distances[i];
        expect(Math.abs(wasm.distances[i] - d)).toBeLessThanOrEqual(1e-4 * d);
      }
    }
    expect(same / direct.indices.length).toBeGreaterThan(0.99);
  });
});
