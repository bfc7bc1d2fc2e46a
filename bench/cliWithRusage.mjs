#!/usr/bin/env node
// Benchmark fallback when GNU /usr/bin/time is missing: runs the pseudolabel CLI in this process, then writes
// {"maxRSS": <KiB>} (process.resourceUsage(), worker threads included) to the file named by
// PSEUDOLABEL_BENCH_RUSAGE. Usage: node bench/cliWithRusage.mjs run --input ... --out ...
import { writeFileSync } from 'node:fs';

const { main } = await import('../dist/cli.mjs'); // the build (npm run build), as bin/pseudolabel.mjs runs it
const code = await main(process.argv);
const target = process.env.PSEUDOLABEL_BENCH_RUSAGE;
if (target) writeFileSync(target, JSON.stringify({ maxRSS: process.resourceUsage().maxRSS }));
process.exitCode = code;
