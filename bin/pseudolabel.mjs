#!/usr/bin/env node
// Runs the TypeScript CLI directly (tsx strips types on load), so `npx pseudolabel` works right after `npm ci`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../lib/cli/main.ts');
process.exitCode = await main(process.argv);
