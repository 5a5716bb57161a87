// Deterministic scrape bodies for the parser benchmark: what one instrumented pod exposes in
// Prometheus text 0.0.4 — Go runtime and process metrics, an HTTP server's request counter and
// two 10-bucket latency/size histograms per handler, and per-container gauges — about
// `series` sample lines in all, with realistic label sets and value shapes. The same target index
// always gives the same text, so runs and machines compare.

export interface TargetExposition {
  text: string;
  /** Sample lines in `text`. */
  samples: number;
}

/** mulberry32: a tiny seeded PRNG, so payloads do not depend on Math.random. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const METHODS = ['GET', 'POST'];
const CODES = ['200', '404', '500'];
const LATENCY_BUCKETS = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '+Inf'];
const SIZE_BUCKETS = ['100', '1000', '10000', '100000', '1e+06', '1e+07', '1e+08', '1e+09', '1e+10', '+Inf'];
const RESOURCES = ['pods', 'nodes', 'services', 'endpoints', 'configmaps', 'secrets', 'deployments', 'replicasets', 'statefulsets', 'daemonsets', 'jobs', 'cronjobs', 'ingresses', 'events'];
const NAMESPACES = ['default', 'kube-system', 'monitoring', 'payments', 'checkout', 'search'];

/** Samples per handler: 3 codes × 2 methods counters + 2 methods × 12 latency + 12 size + 2 gauges. */
const SAMPLES_PER_HANDLER = CODES.length * METHODS.length + METHODS.length * (LATENCY_BUCKETS.length + 2) + (SIZE_BUCKETS.length + 2) + 2;

export function generateTargetExposition(target: number, series = 1000): TargetExposition {
  const random = prng(0x9e3779b9 ^ (target * 2654435761));
  const int = (max: number): number => Math.floor(random() * max);
  const float = (max: number): number => Number((random() * max).toPrecision(12));
  const namespace = NAMESPACES[target % NAMESPACES.length] as string;
  const pod = `api-server-${(target * 7919).toString(36).padStart(5, '0')}-${(target * 104729).toString(36).slice(-5).padStart(5, 'x')}`;
  const lines: string[] = [];
  let samples = 0;
  const family = (name: string, type: string, help: string): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  };
  const sample = (line: string): void => {
    lines.push(line);
    samples++;
  };

  // Go runtime and process metrics, as client_golang exposes them (≈ 30 samples).
  family('go_gc_duration_seconds', 'summary', 'A summary of the pause duration of garbage collection cycles.');
  for (const q of ['0', '0.25', '0.5', '0.75', '1']) sample(`go_gc_duration_seconds{quantile="${q}"} ${float(0.001)}`);
  sample(`go_gc_duration_seconds_sum ${float(20)}`);
  sample(`go_gc_duration_seconds_count ${int(100000)}`);
  family('go_goroutines', 'gauge', 'Number of goroutines that currently exist.');
  sample(`go_goroutines ${int(2000)}`);
  family('go_info', 'gauge', 'Information about the Go environment.');
  sample('go_info{version="go1.22.5"} 1');
  for (const name of ['alloc_bytes', 'heap_alloc_bytes', 'heap_idle_bytes', 'heap_inuse_bytes', 'heap_objects', 'heap_released_bytes', 'heap_sys_bytes', 'stack_inuse_bytes', 'sys_bytes', 'next_gc_bytes']) {
    family(`go_memstats_${name}`, 'gauge', `Number of ${name.replace(/_/g, ' ')} in use.`);
    sample(`go_memstats_${name} ${int(2 ** 34)}`);
  }
  family('go_memstats_alloc_bytes_total', 'counter', 'Total number of bytes allocated, even if freed.');
  sample(`go_memstats_alloc_bytes_total ${int(2 ** 44)}`);
  family('process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds.');
  sample(`process_cpu_seconds_total ${float(100000)}`);
  family('process_max_fds', 'gauge', 'Maximum number of open file descriptors.');
  sample('process_max_fds 1.048576e+06');
  family('process_open_fds', 'gauge', 'Number of open file descriptors.');
  sample(`process_open_fds ${int(500)}`);
  family('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.');
  sample(`process_resident_memory_bytes ${int(2 ** 32)}`);
  family('process_start_time_seconds', 'gauge', 'Start time of the process since unix epoch in seconds.');
  sample(`process_start_time_seconds ${1.7e9 + float(1e7)}`);
  family('process_virtual_memory_bytes', 'gauge', 'Virtual memory size in bytes.');
  sample(`process_virtual_memory_bytes ${int(2 ** 36)}`);

  // The HTTP server: enough handlers to reach about `series` samples, the rest as cache gauges.
  const handlers = Math.max(1, Math.floor((series - samples) / SAMPLES_PER_HANDLER));
  const handler = (h: number): string => `/apis/v1/namespaces/{namespace}/${RESOURCES[h % RESOURCES.length] as string}${h >= RESOURCES.length ? `/v${Math.floor(h / RESOURCES.length)}` : ''}`;
  family('http_requests_total', 'counter', 'Total number of HTTP requests by status code, handler and method.');
  for (let h = 0; h < handlers; h++) {
    for (const method of METHODS) for (const code of CODES) sample(`http_requests_total{code="${code}",handler="${handler(h)}",method="${method}"} ${int(10_000_000)}`);
  }
  family('http_request_duration_seconds', 'histogram', 'Latency of HTTP requests.');
  for (let h = 0; h < handlers; h++) {
    for (const method of METHODS) {
      let count = 0;
      for (const le of LATENCY_BUCKETS) {
        count += int(5000);
        sample(`http_request_duration_seconds_bucket{handler="${handler(h)}",method="${method}",le="${le}"} ${count}`);
      }
      sample(`http_request_duration_seconds_sum{handler="${handler(h)}",method="${method}"} ${float(count * 0.2)}`);
      sample(`http_request_duration_seconds_count{handler="${handler(h)}",method="${method}"} ${count}`);
    }
  }
  family('http_response_size_bytes', 'histogram', 'Size of HTTP responses.');
  for (let h = 0; h < handlers; h++) {
    let count = 0;
    for (const le of SIZE_BUCKETS) {
      count += int(5000);
      sample(`http_response_size_bytes_bucket{handler="${handler(h)}",le="${le}"} ${count}`);
    }
    sample(`http_response_size_bytes_sum{handler="${handler(h)}"} ${float(count * 4096)}`);
    sample(`http_response_size_bytes_count{handler="${handler(h)}"} ${count}`);
  }
  family('http_requests_in_flight', 'gauge', 'Requests currently being served, by handler and stage.');
  for (let h = 0; h < handlers; h++) {
    for (const stage of ['read', 'write']) sample(`http_requests_in_flight{handler="${handler(h)}",stage="${stage}"} ${int(64)}`);
  }
  family('app_cache_entries', 'gauge', 'Entries held by each informer cache.');
  for (let c = 0; samples < series; c++) {
    sample(`app_cache_entries{cache="${RESOURCES[c % RESOURCES.length] as string}-${c}",container="server",namespace="${namespace}",pod="${pod}"} ${int(50_000)}`);
  }
  lines.push('');
  return { text: lines.join('\n'), samples };
}
