#!/usr/bin/env node
// Runs the TypeScript CLI from a cached esbuild bundle (or through tsx, see cliEntry.mjs), so `npx pseudolabel`
// works right after `npm ci`.
import { cliEntry } from './cliEntry.mjs';

const { main } = await import(await cliEntry());
process.exitCode = await main(process.argv);
