import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import type { ProgressEvent } from '../pipeline/embedded/embeddedRunner.ts';

/**
 * Shows per-stage progress on stderr: bars (cli-progress) on a terminal, one plain line per finished stage
 * otherwise (CI logs, pipes).
 */
export function progressReporter(stream: NodeJS.WriteStream): { update: (e: ProgressEvent) => void; stop: () => void } {
  if (!stream.isTTY) {
    return {
      update: (event) => {
        if (event.done === event.total && event.total > 0) {
          stream.write(
            `pseudolabel: ${event.stage} ${event.round > 0 ? `round ${event.round} ` : ''}${event.done}/${event.total} done\n`,
          );
        }
      },
      stop: () => {},
    };
  }
  const bars = new MultiBar(
    { format: ' {stage} [{bar}] {value}/{total}', stream, clearOnComplete: false, hideCursor: true },
    Presets.shades_classic,
  );
  const byStage = new Map<string, SingleBar>();
  return {
    update: (event) => {
      const key = `${event.stage}/${event.round}`;
      const name = event.round > 0 ? `${event.stage} r${event.round}` : event.stage;
      let bar = byStage.get(key);
      if (!bar) {
        bar = bars.create(event.total, 0, { stage: name.padEnd(12) });
        byStage.set(key, bar);
      }
      bar.setTotal(Math.max(event.total, 1));
      bar.update(event.done, { stage: name.padEnd(12) });
    },
    stop: () => bars.stop(),
  };
}
