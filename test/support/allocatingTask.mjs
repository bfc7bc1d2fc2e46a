// A stand-in for the stage worker in taskProcess tests: allocates `body.mb` MiB of typed arrays (outside V8's
// heap, as the pipeline's rows and lists are), touches every page, holds them a moment, and reports the pid.
export default async function allocatingTask(input) {
  const blocks = [];
  for (let i = 0; i < input.body.mb; i++) blocks.push(new Uint8Array(1 << 20).fill(1));
  await new Promise((resolve) => setTimeout(resolve, 200));
  return { tasks: [{ pid: process.pid, held: blocks.length }], reduce: [] };
}
