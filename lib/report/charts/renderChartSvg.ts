import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { useTextWidthEstimate } from './textWidth.ts';

/** Collects what vega-lite and vega would print, so the caller decides what to do with it. */
class CollectingLogger {
  readonly messages: string[] = [];
  private current = 2; // vega's Warn level
  level(level?: number): never {
    if (level !== undefined) this.current = level;
    return (level === undefined ? this.current : this) as never;
  }
  error(...args: unknown[]): this {
    this.messages.push(args.map(String).join(' '));
    return this;
  }
  warn(...args: unknown[]): this {
    this.messages.push(args.map(String).join(' '));
    return this;
  }
  info(): this {
    return this;
  }
  debug(): this {
    return this;
  }
}

export interface RenderedChart {
  readonly svg: string;
  /** Warnings from vega-lite and vega; the report still renders, tests expect none. */
  readonly warnings: string[];
}

/**
 * Renders a vega-lite spec to an SVG string in Node: vega-lite compiles it to vega, a headless vega View
 * (renderer 'none', no DOM, no canvas, no loader use: all data is inline) draws it. Vega numbers clip paths and
 * gradients from a process-wide counter, so every id and reference is prefixed with `idPrefix` to keep the ids
 * unique when several SVGs share one HTML document.
 */
export async function renderChartSvg(spec: TopLevelSpec, idPrefix: string): Promise<RenderedChart> {
  useTextWidthEstimate();
  const logger = new CollectingLogger();
  const vegaSpec = compile(spec, { logger }).spec;
  const view = new View(parse(vegaSpec), { renderer: 'none', logger });
  try {
    const svg = await view.toSVG();
    const prefixed = svg
      .replace(/\bid="([^"]+)"/g, (_, id: string) => `id="${idPrefix}-${id}"`)
      .replace(/url\(#([^)]+)\)/g, (_, id: string) => `url(#${idPrefix}-${id})`);
    return { svg: prefixed, warnings: logger.messages };
  } finally {
    view.finalize();
  }
}
