import type { AsyncBuffer } from 'hyparquet';
import type { ObjectStore } from '../../adapters/objectStore.ts';
import type { RangeSource } from '../../data/byteRanges.ts';

/** An object read in ranges (S3 ranged GETs, or file reads), for the line-range readers. */
export function rangeSourceOf(store: ObjectStore, key: string, size: number): RangeSource {
  return { size, read: (start, end) => store.getRange(key, start, Math.min(end, size)) };
}

/** An object as hyparquet's AsyncBuffer, so a Parquet reader fetches only the footer and its row groups. */
export function asyncBufferOf(store: ObjectStore, key: string, size: number): AsyncBuffer {
  return {
    byteLength: size,
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      const bytes = await store.getRange(key, start, end ?? size);
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    },
  };
}
