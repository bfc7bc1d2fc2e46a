// Entry of a `--task-memory` child process of the embedded runner (taskProcess.ts): receives one task over IPC,
// runs it with the stage worker's bundle (dist/stageWorker.mjs), sends back the messages the task
// sent and this process's peak RSS, and exits. Plain JavaScript: it starts before any TypeScript loader.
process.once('message', async ({ entry, input }) => {
  let reply;
  try {
    const { default: runTask } = await import(entry);
    const sent = await runTask(input);
    reply = { ok: true, sent, maxRssKb: process.resourceUsage().maxRSS };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    reply = { ok: false, error: message, maxRssKb: process.resourceUsage().maxRSS };
  }
  process.send(reply, () => process.exit(0));
});
