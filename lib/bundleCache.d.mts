/** See bundleCache.mjs. */
export function cachedBundle(name: string, entry: string, source: string, options?: object): Promise<string>;
