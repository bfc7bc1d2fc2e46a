import type { SingleBar } from 'cli-progress';
import type { ProgressEvent } from '../hosts/embedded/embeddedRunner.ts';

export interface ProgressReporter {
  /** Shard tasks of a stage and round done out of total. */
  update(event: ProgressEvent): void;
  /** A status line: above the bars on a terminal; otherwise printed when `key` (default the text) changes. */
  note(text: string, key?: string): void;
  stop(): void;
}

/**
 * Shows per-stage progress on stderr: bars (cli-progress) on a terminal, one plain line per finished stage
 * otherwise (CI logs, pipes). cli-progress is loaded only for a terminal (18 ms of start-up otherwise).
 */
export async function progressReporter(stream: NodeJS.WriteStream): Promise<ProgressReporter> {
  if (!stream.isTTY) {
    const finished = new Set<string>();
    let lastNote: string | undefined;
    return {
      update: (event) => {
        const key = `${event.stage}/${event.round}`;
        if (event.done === event.total && event.total > 0 && !finished.has(key)) {
          finished.add(key);
          stream.write(
            `pseudolabel: ${event.stage} ${event.round > 0 ? `round ${event.round} ` : ''}${event.done}/${event.total} done\n`,
          );
        }
      },
      note: (text, key = text) => {
        if (key === lastNote) return;
        lastNote = key;
        stream.write(`pseudolabel: ${text}\n`);
      },
      stop: () => {},
    };
  }
  const { MultiBar, Presets } = await import('cli-progress');
  const bars = new MultiBar(
    { format: ' {stage} [{bar}] {value}/{total}', stream, clearOnComplete: false, hideCursor: true },
    Presets.shades_classic,
  );
  const byStage = new Map<string, SingleBar>();
  let noteBar: SingleBar | undefined;
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
    note: (text) => {
      noteBar ??= bars.create(1, 0, { text }, { format: ' {text}' });
      noteBar.update(0, { text });
    },
    stop: () => bars.stop(),
  };
}
