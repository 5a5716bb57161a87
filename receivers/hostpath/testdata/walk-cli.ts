// Prints the JSON outcome of one walk of argv[2] (2 threads, no budgets) with the scanner named
// by argv[3] (native or node-fs) as one line, for tests that must run the walker somewhere the
// test process cannot go: another mount namespace, or as an unprivileged user. Exit code 0
// whatever the outcome; 2 on a usage error.
import { WalkPool } from '../walk-pool.ts';

const [root, scanner] = process.argv.slice(2);
if (root === undefined || (scanner !== 'native' && scanner !== 'node-fs') || process.argv.length !== 4) {
  process.stderr.write('usage: node walk-cli.ts <root> native|node-fs\n');
  process.exit(2);
}
const pool = new WalkPool({ threads: 2, scanner });
const outcome = await pool.walk(root, { timeoutMs: 0, maxEntries: 0 });
await pool.shutdown();
process.stdout.write(`${JSON.stringify(outcome)}\n`);
