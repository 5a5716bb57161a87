import convict from 'convict';
import { errorMessage } from '../pipeline/errors.ts';
import { ConfigValidationError, issue, type ConfigIssue } from './issues.ts';
import { didYouMean } from './suggest.ts';
import type { Env } from './env-expand.ts';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Agent-wide settings: not part of any pipeline, fixed for the life of the process. */
export interface AgentSettings {
  readonly listen_host: string;
  readonly listen_port: number;
  readonly log_level: LogLevel;
  readonly log_human: boolean;
  /** Config file path; '' runs the embedded default config. */
  readonly config: string;
  /** '' means os.hostname(). */
  readonly node_name: string;
  /** '' means in-cluster config when in a cluster, else no Kubernetes. */
  readonly kubeconfig: string;
  /** Explicit API server URL; '' means none. */
  readonly kube_api_url: string;
  readonly kube_token_file: string;
  /** Web config (TLS, basic auth, bearer tokens) for the HTTP server; '' is plain HTTP without credentials. */
  readonly web_config_file: string;
}

interface SettingSpec {
  readonly doc: string;
  readonly format: unknown;
  readonly default: string | number | boolean;
  readonly arg: string;
  readonly env: string;
}

const nonEmpty = (value: unknown) => {
  if (typeof value !== 'string' || value.trim() === '') throw new Error('must be a non-empty host name or address');
};

/** convict schema, bound to `--flag` and environment variable names. */
export const agentSettingsSchema: Record<keyof AgentSettings, SettingSpec> = {
  listen_host: {
    doc: 'Address the agent HTTP server (metrics, /healthz, /readyz) listens on.',
    format: nonEmpty,
    default: '0.0.0.0',
    arg: 'listen-host',
    env: 'NODEMETER_LISTEN_HOST',
  },
  listen_port: {
    doc: 'Port of the agent HTTP server; 0 lets the OS choose.',
    format: 'port',
    // 9464: the OpenTelemetry Prometheus exporter's port in Prometheus' default port allocations
    // (and @opentelemetry/exporter-prometheus's default), so rules written for OTel agents fit; it
    // stays clear of node_exporter's 9100, which often shares the node's host network.
    default: 9464,
    arg: 'listen-port',
    env: 'NODEMETER_LISTEN_PORT',
  },
  log_level: {
    doc: `Least severe log level written: ${LOG_LEVELS.join(', ')}.`,
    format: [...LOG_LEVELS],
    default: 'info',
    arg: 'log-level',
    env: 'NODEMETER_LOG_LEVEL',
  },
  log_human: {
    doc: 'Human-readable log lines instead of JSON lines.',
    format: Boolean,
    default: false,
    arg: 'log-human',
    env: 'NODEMETER_LOG_HUMAN',
  },
  config: {
    doc: 'Config file (Collector-style YAML); empty runs the embedded default config.',
    format: String,
    default: '',
    arg: 'config',
    env: 'NODEMETER_CONFIG',
  },
  node_name: {
    doc: 'Kubernetes node this agent serves (set NODE_NAME from spec.nodeName via the downward API); empty means the host name.',
    format: String,
    default: '',
    arg: 'node-name',
    env: 'NODE_NAME',
  },
  kubeconfig: {
    doc: 'kubeconfig file for reaching the API server from outside a cluster; empty uses the in-cluster service account when there is one.',
    format: String,
    default: '',
    arg: 'kubeconfig',
    env: 'KUBECONFIG',
  },
  kube_api_url: {
    doc: 'Kubernetes API server URL to use instead of a kubeconfig or the in-cluster service account (e.g. a kubectl proxy).',
    format: String,
    default: '',
    arg: 'kube-api-url',
    env: 'NODEMETER_KUBE_API_URL',
  },
  kube_token_file: {
    doc: 'Bearer token file sent with --kube-api-url requests (re-read every minute).',
    format: String,
    default: '',
    arg: 'kube-token-file',
    env: 'NODEMETER_KUBE_TOKEN_FILE',
  },
  web_config_file: {
    doc: 'Web config file for the agent HTTP server, in the Prometheus exporter-toolkit format (tls_server_config, basic_auth_users, …) plus bearer tokens; see docs/operations.md, "Securing the endpoint". Empty: plain HTTP, no credentials.',
    format: String,
    default: '',
    arg: 'web-config-file',
    env: 'NODEMETER_WEB_CONFIG_FILE',
  },
};

type Key = keyof AgentSettings;
const KEYS = Object.keys(agentSettingsSchema) as Key[];
const BY_FLAG = new Map(KEYS.map((k) => [`--${agentSettingsSchema[k].arg}`, k]));

export interface ParseAgentSettingsOptions {
  /** Flags without a value the caller handles itself (`--once`, `--help`); passed through in `rest`. */
  readonly extraBooleanFlags?: readonly string[];
  /** Flags with a value the caller handles itself; passed through in `rest` as one `--flag=value` word. */
  readonly extraValueFlags?: readonly string[];
}

export interface ParsedAgentSettings {
  readonly settings: Readonly<AgentSettings>;
  /** Positional words (subcommands) and the extra flags, in order. */
  readonly rest: string[];
}

/** Strict text → value: convict would turn port "80x" into 80 and log_human "no" into true. */
function coerce(key: Key, text: string): { ok: true; value: string } | { ok: false; message: string } {
  const spec = agentSettingsSchema[key];
  if (spec.format === 'port') {
    return /^\d+$/.test(text.trim()) ? { ok: true, value: text.trim() } : { ok: false, message: `must be a port number 0-65535, got "${text}"` };
  }
  if (spec.format === Boolean) {
    const t = text.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(t)) return { ok: true, value: 'true' };
    if (['false', '0', 'no', 'off'].includes(t)) return { ok: true, value: 'false' };
    return { ok: false, message: `must be true or false, got "${text}"` };
  }
  return { ok: true, value: text };
}

/**
 * Settings from defaults, then environment variables, then flags (later wins). Accepts
 * `--flag value`, `--flag=value` and bare boolean flags; everything else the caller sees in `rest`.
 * Throws ConfigValidationError (source "command line") listing every bad flag or value.
 */
export function parseAgentSettings(argv: readonly string[], env: Env = process.env, options: ParseAgentSettingsOptions = {}): ParsedAgentSettings {
  const extraBoolean = new Set(options.extraBooleanFlags ?? []);
  const extraValue = new Set(options.extraValueFlags ?? []);
  const issues: ConfigIssue[] = [];
  const rest: string[] = [];
  const fromFlags = new Map<Key, { flag: string; text: string }>();

  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] ?? '';
    if (word === '--') {
      rest.push(...argv.slice(i + 1));
      break;
    }
    if (!word.startsWith('-') || word === '-') {
      rest.push(word);
      continue;
    }
    const eq = word.indexOf('=');
    const flag = eq < 0 ? word : word.slice(0, eq);
    const inline = eq < 0 ? undefined : word.slice(eq + 1);
    const key = BY_FLAG.get(flag);
    const isBoolean = extraBoolean.has(flag) || (key !== undefined && agentSettingsSchema[key].format === Boolean);
    if (key === undefined && !extraBoolean.has(flag) && !extraValue.has(flag)) {
      const valid = [...BY_FLAG.keys(), ...extraBoolean, ...extraValue].sort();
      issues.push(issue(flag, `unknown flag${didYouMean(flag, valid)}; valid flags: ${valid.join(', ')}`));
      continue;
    }
    let text = inline;
    if (text === undefined && isBoolean) text = 'true';
    if (text === undefined) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        issues.push(issue(flag, 'needs a value'));
        continue;
      }
      text = next;
      i++;
    }
    if (key === undefined) {
      if (extraBoolean.has(flag) && inline === undefined) rest.push(flag);
      else rest.push(`${flag}=${text}`);
      continue;
    }
    fromFlags.set(key, { flag, text });
  }

  // Where each value came from, so a bad one is reported under the name the operator wrote.
  const origin = new Map<Key, string>();
  const convictEnv: Record<string, string> = {};
  for (const key of KEYS) {
    const name = agentSettingsSchema[key].env;
    const text = env[name];
    // An empty variable counts as unset: manifests often template in empty values.
    if (text === undefined || text === '' || fromFlags.has(key)) continue;
    const c = coerce(key, text);
    if (c.ok) {
      convictEnv[name] = c.value;
      origin.set(key, name);
    } else issues.push(issue(name, c.message));
  }
  const conf = convict(agentSettingsSchema as unknown as convict.Schema<AgentSettings>, { env: convictEnv, args: [] });
  for (const [key, { flag, text }] of fromFlags) {
    const c = coerce(key, text);
    if (!c.ok) {
      issues.push(issue(flag, c.message));
      continue;
    }
    conf.set(key, c.value);
    origin.set(key, flag);
  }
  try {
    conf.validate({ allowed: 'strict' });
  } catch (err) {
    for (const line of errorMessage(err).split('\n')) {
      const key = KEYS.find((k) => line.startsWith(`${k}: `));
      if (!key) {
        issues.push(issue('', line));
        continue;
      }
      const text = line.slice(key.length + 2).replace(/: value was (.*)$/, ', got $1');
      issues.push(issue(origin.get(key) ?? key, text));
    }
  }
  if (issues.length) throw new ConfigValidationError('command line', issues);
  return { settings: Object.freeze(conf.getProperties()), rest };
}

export interface AgentSettingRow {
  readonly key: string;
  readonly flag: string;
  readonly env: string;
  /** As the operator would write it. */
  readonly default: string;
  readonly doc: string;
}

/** One row per setting, for docs and `--help`. */
export function describeAgentSettings(): AgentSettingRow[] {
  return KEYS.map((key) => {
    const spec = agentSettingsSchema[key];
    return { key, flag: `--${spec.arg}`, env: spec.env, default: JSON.stringify(spec.default), doc: spec.doc };
  });
}

/** The settings as a Markdown table. */
export function agentSettingsMarkdown(): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const lines = ['| flag | environment | default | meaning |', '| --- | --- | --- | --- |'];
  for (const r of describeAgentSettings()) lines.push(`| \`${r.flag}\` | \`${r.env}\` | \`${cell(r.default)}\` | ${cell(r.doc)} |`);
  return lines.join('\n') + '\n';
}
