import type { ObjectStore } from '../adapters/objectStore.ts';

/** Reads a JSON object written by a stage. */
export async function readJson<T>(store: ObjectStore, key: string): Promise<T> {
  return JSON.parse(new TextDecoder().decode(await store.get(key))) as T;
}

export async function writeJson(store: ObjectStore, key: string, value: unknown): Promise<void> {
  await store.put(key, JSON.stringify(value));
}
