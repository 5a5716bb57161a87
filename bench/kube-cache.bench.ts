// Memory and sync time of the shared Kubernetes cache for a big cluster: 10 000 PVs, 10 000
// PVCs and 110 pods on this node. Run: node_modules/.bin/node bench/kube-cache.bench.ts
// [--pvs N] [--pods N]. The test API server runs in this process; the cache runs in a child
// (with --expose-gc) so only the agent side is measured. See bench/README.md.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const MiB = 1024 * 1024;

interface ChildReport {
  /** Right after importing the cache modules, after GC. */
  baseline: NodeJS.MemoryUsage;
  /** Just after sync, before GC: includes the garbage of parsing the LIST pages. */
  synced: NodeJS.MemoryUsage;
  /** After sync and a full GC. */
  settled: NodeJS.MemoryUsage;
  syncMs: number;
  objects: Record<string, number>;
  requests: number;
}

async function child(url: string): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run the child with --expose-gc');
  const [{ KubeCache }, { resolveKubeConnection }, { default: pino }] = await Promise.all([
    import('../kube/cache.ts'),
    import('../kube/connection.ts'),
    import('pino'),
  ]);
  const connection = await resolveKubeConnection({ api_url: url });
  if (!connection) throw new Error('no connection');
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await settle();
  const baseline = process.memoryUsage();
  const pageSize = process.env['BENCH_PAGE_SIZE'] ? Number(process.env['BENCH_PAGE_SIZE']) : undefined;
  const cache = KubeCache.create({ connection, nodeName: 'node-a', logger: pino({ level: 'warn' }), tuning: { pageSize } });
  cache.require(['pods', 'persistentvolumes', 'persistentvolumeclaims', 'namespaces', 'nodes', 'storageclasses']);
  const started = performance.now();
  await cache.start();
  if (!(await cache.waitForSync(120_000))) throw new Error('cache did not sync within 120 s');
  const syncMs = performance.now() - started;
  const synced = process.memoryUsage();
  await settle();
  const settled = process.memoryUsage();
  const report: ChildReport = {
    baseline,
    synced,
    settled,
    syncMs,
    objects: Object.fromEntries(cache.status().map((s) => [s.kind, s.objects])),
    requests: 0,
  };
  await cache.shutdown();
  process.stdout.write(JSON.stringify(report) + '\n');
}

async function parent(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { pvs: { type: 'string', default: '10000' }, pods: { type: 'string', default: '110' } } });
  const pvCount = Number(values.pvs);
  const podCount = Number(values.pods);
  const { KubeApiServer, fixtures } = await import('../test/support/kube-api/index.ts');
  const server = await KubeApiServer.start({ historyLimit: 100 });
  try {
    server.add(fixtures.node('node-a'));
    server.add(fixtures.node('node-b'));
    const namespaces = Array.from({ length: 50 }, (_, i) => `team-${i}`);
    for (const ns of namespaces) server.add(fixtures.namespace(ns, { team: ns }));
    for (const sc of ['standard-rwo', 'gp3', 'local-path']) server.add(fixtures.storageClass(sc, `${sc}.example.com`));
    for (let i = 0; i < pvCount; i++) {
      const ns = namespaces[i % namespaces.length] ?? 'default';
      const claim = `data-${i}`;
      const pv = fixtures.dynamicPvName(ns, claim);
      const labels = { app: `app-${i % 200}`, 'app.kubernetes.io/managed-by': 'Helm', tier: i % 2 ? 'db' : 'cache' };
      server.add(fixtures.persistentVolumeClaim(ns, claim, { storageClassName: 'standard-rwo', request: '10Gi', volumeName: pv, labels, provisioner: 'pd.csi.storage.gke.io' }));
      server.add(
        fixtures.persistentVolume(pv, { type: 'csi', driver: 'pd.csi.storage.gke.io', volumeHandle: `projects/demo/zones/europe-west1-b/disks/${pv}` }, {
          storageClassName: 'standard-rwo',
          claim: { namespace: ns, name: claim },
        }),
      );
    }
    for (let i = 0; i < podCount; i++) {
      const ns = namespaces[i % namespaces.length] ?? 'default';
      server.add(fixtures.pod(`app-${i}-0`, { namespace: ns, node: 'node-a', podIP: `10.4.${i >> 8}.${i & 255}`, owner: { kind: 'StatefulSet', name: `app-${i}` }, pvcs: { data: `data-${i}` } }));
      // Pods of another node: the field selector must keep them out.
      server.add(fixtures.pod(`other-${i}-0`, { namespace: ns, node: 'node-b', podIP: `10.5.${i >> 8}.${i & 255}` }));
    }

    const script = fileURLToPath(import.meta.url);
    const out = await new Promise<string>((resolve, reject) => {
      const proc = spawn(process.execPath, ['--expose-gc', script, '--child', server.url], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      proc.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      proc.on('error', reject);
      proc.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`child exited with ${code}`))));
    });
    const report = JSON.parse(out.trim().split('\n').pop() ?? '{}') as ChildReport;
    const d = (key: keyof NodeJS.MemoryUsage, at: NodeJS.MemoryUsage) => ((at[key] - report.baseline[key]) / MiB).toFixed(1);
    const lines = [
      `objects: ${JSON.stringify(report.objects)}`,
      `LIST requests served: ${server.requests.filter((r) => !r.watch).length}`,
      `initial sync: ${report.syncMs.toFixed(0)} ms`,
      `baseline (modules loaded, after GC): rss ${(report.baseline.rss / MiB).toFixed(1)} MiB, heapUsed ${(report.baseline.heapUsed / MiB).toFixed(1)} MiB`,
      `delta right after sync: rss +${d('rss', report.synced)} MiB, heapUsed +${d('heapUsed', report.synced)} MiB`,
      `delta after GC:         rss +${d('rss', report.settled)} MiB, heapUsed +${d('heapUsed', report.settled)} MiB (target rss ≤ 60 MiB)`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await server.stop();
  }
}

const args = process.argv.slice(2);
if (args[0] === '--child') await child(args[1] ?? '');
else await parent(args);
