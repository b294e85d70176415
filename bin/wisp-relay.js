#!/usr/bin/env node
// Runs the relay's TypeScript sources directly: tsx compiles them on load (Node 20 cannot).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../relay/cli.ts');
process.exitCode = await main(process.argv.slice(2));
