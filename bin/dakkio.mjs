#!/usr/bin/env node
// dakkio is written in TypeScript and run through tsx's loader, so there is no
// build step between a checkout and `npm start`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
