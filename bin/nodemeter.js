#!/usr/bin/env -S node --max-semi-space-size=4
// The flags on the line above are the agent's Node flags (package.json's start script, the image
// and the test harness use the same ones; a test checks that they agree). A 4 MiB semi-space keeps
// V8's young generation at 8 MiB instead of letting it grow to 128 MiB while a large pull
// builds its batch: see docs/operations.md, "Memory".
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
// Cache compiled (and type-stripped) modules on disk: restarts of a DaemonSet pod start faster;
// not on a full temp dir, where Node would leave an empty file per module behind (compile-cache.ts).
const { enableCompileCacheWithRoom } = await import('../cli/compile-cache.ts');
enableCompileCacheWithRoom();
const { main } = await import('../cli/main.ts');
const { exitProcess } = await import('../cli/exit.ts');
await exitProcess(await main(process.argv.slice(2)));
