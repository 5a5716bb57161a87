#!/usr/bin/env node
// Thin launcher: Node 24 runs the TypeScript sources directly (type stripping),
// so there is no build step between `npm ci` and `npx nodemeter`.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `nodemeter: needs Node.js 24 or newer, this is ${process.version}. ` +
      'Run it through npm (`npm start`, `npx nodemeter`), which puts the pinned Node 24 from node_modules first on PATH.\n',
  );
  process.exit(1);
}
// Cache compiled (and type-stripped) modules on disk: restarts of a DaemonSet pod start faster.
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
const { main } = await import('../cli/main.ts');
const { exitProcess } = await import('../cli/exit.ts');
await exitProcess(await main(process.argv.slice(2)));
