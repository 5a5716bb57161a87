// Regenerates the generated block of docs/configuration.md: `npm run docs`.
import { readFileSync, writeFileSync } from 'node:fs';
import { builtinRegistry } from '../pipeline/builtins.ts';
import { configurationReference, spliceGenerated } from './reference.ts';

const target = new URL('../docs/configuration.md', import.meta.url);
writeFileSync(target, spliceGenerated(readFileSync(target, 'utf8'), configurationReference(builtinRegistry())));
process.stdout.write(`updated ${target.pathname}\n`);
