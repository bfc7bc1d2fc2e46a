/**
 * The C allocator's setting for a task's process (embedded `--task-memory` children, the Lambda functions): blocks
 * of 1 MiB and more (a shard read, a cells object) are mapped on their own and given back to the system when
 * freed. By default glibc raises this threshold once such a block is freed, and the next shards' buffers come
 * from its heap, which it keeps: a replica of collect's pass over a 1M-row run's 16 shards of 16 MB, read one
 * after the other with 61 MB live throughout, peaked at 207 MB RSS with the default and 143 MB with this.
 */
export const TASK_ALLOCATOR_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: String(2 ** 20) };
