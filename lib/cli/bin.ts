#!/usr/bin/env node
// The `pseudolabel` command: dist/pseudolabel.mjs, package.json `bin` (scripts/build.mjs).
import { main } from './main.ts';

process.exitCode = await main(process.argv);
