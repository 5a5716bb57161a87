import { dirname, isAbsolute, resolve } from 'node:path';
import type { Env } from '../../config/env-expand.ts';
import { ConfigValidationError, issue, type ConfigIssue } from '../../config/issues.ts';
import { parseDuration } from '../../config/formats.ts';
import { didYouMean } from '../../config/suggest.ts';
import { isPlainObject, locate, parseYamlSource, type PosNode } from '../../config/yaml-source.ts';
import { bcryptHashProblem } from './bcrypt-hash.ts';
import {
  CIPHER_SUITES,
  CLIENT_AUTH_TYPES,
  CONFIGURABLE_HEADERS,
  CURVES,
  DEFAULT_AUTH_EXCLUDED_PATHS,
  TLS_VERSION_NAMES,
  type ClientAuthType,
  type PemSource,
  type RateLimit,
  type TlsServerConfig,
  type WebConfig,
} from './web-config.ts';

type Path = (string | number)[];

export interface ParsedWebConfig {
  readonly config: WebConfig;
  /** Where each key sits in the file, for problems found later (files it names, certificates). */
  readonly positions: PosNode | undefined;
}

const TOP_KEYS = ['tls_server_config', 'http_server_config', 'basic_auth_users', 'auth_excluded_paths', 'bearer_token_hashes', 'bearer_token_files', 'rate_limit'];
const RATE_LIMIT_KEYS = ['interval', 'burst'];
const TLS_KEYS = [
  'cert', 'key', 'client_ca', 'cert_file', 'key_file', 'client_auth_type', 'client_ca_file', 'client_allowed_sans',
  'min_version', 'max_version', 'cipher_suites', 'prefer_server_cipher_suites', 'curve_preferences',
];
const HTTP_KEYS = ['http2', 'headers'];
const TOKEN_HASH_RE = /^sha256:[0-9a-f]{64}$/;

/**
 * Parses and checks a web config's text; reads none of the files it names (see load.ts).
 * Throws {@link ConfigValidationError} listing every problem with its key path and line.
 */
export function parseWebConfig(text: string, source: string, env: Env): ParsedWebConfig {
  const checked = checkWebConfig(text, source, env);
  if (checked.issues.length > 0 || checked.config === undefined) throw new ConfigValidationError(source, checked.issues);
  return { config: checked.config, positions: checked.positions };
}

/**
 * Like {@link parseWebConfig} but returns the problems, with the parts that did check out (a
 * section with problems is left out), so the caller can go on to check the files those parts name.
 */
export function checkWebConfig(text: string, source: string, env: Env): { config: WebConfig | undefined; positions: PosNode | undefined; issues: ConfigIssue[] } {
  const parsed = parseYamlSource(text, env);
  const checker = new WebConfigChecker(parsed.positions, dirname(resolve(source)));
  const issues: ConfigIssue[] = [...parsed.issues];
  const config = issues.length === 0 ? checker.check(parsed.value, source) : undefined;
  issues.push(...checker.issues);
  return { config, positions: parsed.positions, issues };
}

/** Walks the parsed value, collecting every problem rather than stopping at the first. */
class WebConfigChecker {
  readonly issues: ConfigIssue[] = [];
  readonly #positions: PosNode | undefined;
  readonly #dir: string;

  constructor(positions: PosNode | undefined, dir: string) {
    this.#positions = positions;
    this.#dir = dir;
  }

  check(value: unknown, source: string): WebConfig {
    const top = value === undefined || value === null ? {} : this.#map(value, []);
    const tls = top?.tls_server_config === undefined || top.tls_server_config === null ? undefined : this.#tls(top.tls_server_config);
    const http = top?.http_server_config === undefined || top.http_server_config === null ? undefined : this.#map(top.http_server_config, ['http_server_config'], HTTP_KEYS);
    if (http?.http2 !== undefined && http.http2 !== null) this.#boolean(http.http2, ['http_server_config', 'http2']);
    return {
      source,
      tls,
      headers: http?.headers === undefined || http.headers === null ? {} : this.#headers(http.headers),
      basicAuthUsers: top?.basic_auth_users === undefined || top.basic_auth_users === null ? {} : this.#users(top.basic_auth_users),
      bearerTokenHashes: this.#list(top?.bearer_token_hashes, ['bearer_token_hashes']).flatMap((v, i) => this.#tokenHash(v, ['bearer_token_hashes', i])),
      bearerTokenFiles: this.#list(top?.bearer_token_files, ['bearer_token_files']).flatMap((v, i) => this.#file(v, ['bearer_token_files', i]) ?? []),
      authExcludedPaths: top?.auth_excluded_paths === undefined || top.auth_excluded_paths === null
        ? DEFAULT_AUTH_EXCLUDED_PATHS
        : this.#list(top.auth_excluded_paths, ['auth_excluded_paths']).flatMap((v, i) => this.#urlPath(v, ['auth_excluded_paths', i])),
      rateLimit: top?.rate_limit === undefined || top.rate_limit === null ? undefined : this.#rateLimit(top.rate_limit),
    };
  }

  /** exporter-toolkit's token bucket: `interval` between requests (0: no limit) and `burst`. */
  #rateLimit(value: unknown): RateLimit | undefined {
    const limit = this.#map(value, ['rate_limit'], RATE_LIMIT_KEYS);
    if (limit === undefined) return undefined;
    let intervalMs: number | undefined;
    if (limit.interval === undefined || limit.interval === null) this.#problem(['rate_limit'], 'needs interval, the time between two requests such as "100ms" (0 turns the limit off)');
    else {
      try {
        intervalMs = parseDuration(limit.interval);
      } catch (err) {
        this.#problem(['rate_limit', 'interval'], (err as Error).message);
      }
    }
    let burst: number | undefined;
    if (limit.burst !== undefined && limit.burst !== null) {
      if (typeof limit.burst === 'number' && Number.isSafeInteger(limit.burst) && limit.burst >= 0) burst = limit.burst;
      else this.#problem(['rate_limit', 'burst'], `must be a whole number of requests, 0 or more, got ${describe(limit.burst)}`);
    }
    if (intervalMs === undefined || intervalMs === 0) return undefined;
    if (limit.burst === undefined || limit.burst === null) {
      this.#problem(['rate_limit'], 'needs burst, the requests let through at once, when interval is set');
      return undefined;
    }
    if (burst === 0) this.#problem(['rate_limit', 'burst'], 'must be at least 1 when interval is set: a bucket of 0 would refuse every request');
    return burst === undefined || burst === 0 ? undefined : { intervalMs, burst };
  }

  #problem(path: Path, message: string): void {
    this.issues.push(issue(path, message, locate(this.#positions, path)));
  }

  #map(value: unknown, path: Path, keys: readonly string[] = TOP_KEYS): Record<string, unknown> | undefined {
    if (!isPlainObject(value)) {
      this.#problem(path, `must be a mapping, got ${describe(value)}`);
      return undefined;
    }
    for (const key of Object.keys(value)) {
      if (!keys.includes(key)) this.#problem([...path, key], `unknown key${didYouMean(key, keys)}; valid keys: ${keys.join(', ')}`);
    }
    return value;
  }

  #string(value: unknown, path: Path): string | undefined {
    if (typeof value === 'string') return value;
    this.#problem(path, `must be a string, got ${describe(value)}`);
    return undefined;
  }

  #boolean(value: unknown, path: Path): boolean | undefined {
    if (typeof value === 'boolean') return value;
    this.#problem(path, `must be true or false, got ${describe(value)}`);
    return undefined;
  }

  #list(value: unknown, path: Path): unknown[] {
    if (value === undefined || value === null) return [];
    if (Array.isArray(value)) return value;
    this.#problem(path, `must be a list, got ${describe(value)}`);
    return [];
  }

  #file(value: unknown, path: Path): string | undefined {
    const s = this.#string(value, path);
    if (s === undefined) return undefined;
    if (s.trim() === '') {
      this.#problem(path, 'must be a file path, got an empty string');
      return undefined;
    }
    // As exporter-toolkit does: relative paths are relative to the web config file.
    return isAbsolute(s) ? s : resolve(this.#dir, s);
  }

  #oneOf<T extends string>(value: unknown, path: Path, allowed: readonly T[]): T | undefined {
    const s = this.#string(value, path);
    if (s === undefined) return undefined;
    if ((allowed as readonly string[]).includes(s)) return s as T;
    this.#problem(path, `must be one of ${allowed.join(', ')}, got "${s}"${didYouMean(s, allowed)}`);
    return undefined;
  }

  #pem(tls: Record<string, unknown>, inlineKey: string, fileKey: string, required: boolean, secret: boolean): PemSource | undefined {
    const path: Path = ['tls_server_config'];
    const inline = tls[inlineKey];
    const file = tls[fileKey];
    const hasInline = inline !== undefined && inline !== null && inline !== '';
    const hasFile = file !== undefined && file !== null && file !== '';
    if (hasInline && hasFile) {
      this.#problem([...path, inlineKey], `give ${fileKey} or ${inlineKey}, not both`);
      return undefined;
    }
    if (hasFile) {
      const f = this.#file(file, [...path, fileKey]);
      return f === undefined ? undefined : { file: f };
    }
    if (hasInline) {
      if (typeof inline !== 'string') {
        // The value of `key` is a private key: describe its type only.
        this.#problem([...path, inlineKey], secret ? 'must be a PEM string' : `must be a PEM string, got ${describe(inline)}`);
        return undefined;
      }
      return { inline };
    }
    if (required) this.#problem(path, `needs ${fileKey} (or ${inlineKey}, the PEM text inline)`);
    return undefined;
  }

  #tls(value: unknown): TlsServerConfig | undefined {
    const path: Path = ['tls_server_config'];
    const tls = this.#map(value, path, TLS_KEYS);
    if (tls === undefined) return undefined;
    const before = this.issues.length;
    const cert = this.#pem(tls, 'cert', 'cert_file', true, false);
    const key = this.#pem(tls, 'key', 'key_file', true, true);
    const clientCa = this.#pem(tls, 'client_ca', 'client_ca_file', false, false);
    const clientAuthType: ClientAuthType | undefined =
      tls.client_auth_type === undefined || tls.client_auth_type === null || tls.client_auth_type === ''
        ? 'NoClientCert'
        : this.#oneOf(tls.client_auth_type, [...path, 'client_auth_type'], CLIENT_AUTH_TYPES);
    if (clientCa !== undefined && clientAuthType === 'NoClientCert') {
      this.#problem([...path, 'client_auth_type'], 'client_ca_file is set but client_auth_type is NoClientCert: set client_auth_type (RequireAndVerifyClientCert to require certificates the CA signed)');
    }
    if (clientCa === undefined && (clientAuthType === 'RequireAndVerifyClientCert' || clientAuthType === 'VerifyClientCertIfGiven')) {
      this.#problem([...path, 'client_auth_type'], `${clientAuthType} needs client_ca_file (or client_ca): the CA that signs client certificates`);
    }
    let clientAllowedSans: string[] | undefined;
    if (tls.client_allowed_sans !== undefined && tls.client_allowed_sans !== null) {
      clientAllowedSans = this.#list(tls.client_allowed_sans, [...path, 'client_allowed_sans']).flatMap((v, i) => this.#string(v, [...path, 'client_allowed_sans', i]) ?? []);
      if (clientAuthType !== 'RequireAnyClientCert' && clientAuthType !== 'RequireAndVerifyClientCert') {
        this.#problem([...path, 'client_allowed_sans'], 'needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert (otherwise a client may send no certificate to match)');
      }
    }
    const versions = TLS_VERSION_NAMES;
    const minVersion = tls.min_version === undefined || tls.min_version === null ? 'TLS12' : this.#oneOf(tls.min_version, [...path, 'min_version'], versions);
    const maxVersion = tls.max_version === undefined || tls.max_version === null ? 'TLS13' : this.#oneOf(tls.max_version, [...path, 'max_version'], versions);
    if (minVersion !== undefined && maxVersion !== undefined && versions.indexOf(minVersion) > versions.indexOf(maxVersion)) {
      this.#problem([...path, 'max_version'], `${maxVersion} is below min_version ${minVersion}`);
    }
    const names = (key: string, table: Readonly<Record<string, string | null>>): string[] | undefined => {
      if (tls[key] === undefined || tls[key] === null) return undefined;
      const out: string[] = [];
      this.#list(tls[key], [...path, key]).forEach((v, i) => {
        const name = this.#oneOf(v, [...path, key, i], Object.keys(table));
        const mapped = name === undefined ? undefined : table[name];
        if (typeof mapped === 'string') out.push(mapped);
      });
      return out;
    };
    const cipherSuites = names('cipher_suites', CIPHER_SUITES);
    const curves = names('curve_preferences', CURVES);
    const prefer = tls.prefer_server_cipher_suites === undefined || tls.prefer_server_cipher_suites === null ? true : this.#boolean(tls.prefer_server_cipher_suites, [...path, 'prefer_server_cipher_suites']);
    if (this.issues.length > before || !cert || !key || !clientAuthType || !minVersion || !maxVersion || prefer === undefined) return undefined;
    return {
      cert,
      key,
      clientAuthType,
      clientCa,
      clientAllowedSans,
      minVersion,
      maxVersion,
      // Only TLS 1.3 names given: nothing to restrict for TLS 1.2 and below, as in Go.
      cipherSuites: cipherSuites === undefined || cipherSuites.length === 0 ? undefined : cipherSuites,
      preferServerCipherSuites: prefer,
      curves: curves === undefined || curves.length === 0 ? undefined : curves,
    };
  }

  #headers(value: unknown): Record<string, string> {
    const path: Path = ['http_server_config', 'headers'];
    const names = Object.keys(CONFIGURABLE_HEADERS);
    const map = this.#map(value, path, names);
    const out: Record<string, string> = {};
    for (const [name, v] of Object.entries(map ?? {})) {
      if (!names.includes(name)) continue;
      const s = v === null ? '' : this.#string(v, [...path, name]);
      if (s === undefined || s === '') continue;
      const allowed = CONFIGURABLE_HEADERS[name];
      if (allowed !== undefined && !allowed.includes(s)) {
        this.#problem([...path, name], `must be one of ${allowed.join(', ')}, got "${s}"`);
        continue;
      }
      // Control characters would let a value split the response into extra headers.
      if (/[^\t\x20-\x7e]/.test(s)) {
        this.#problem([...path, name], 'must be printable ASCII (no line breaks or control characters)');
        continue;
      }
      out[name] = s;
    }
    return out;
  }

  #users(value: unknown): Record<string, string> {
    const path: Path = ['basic_auth_users'];
    if (!isPlainObject(value)) {
      this.#problem(path, `must be a mapping of user name to bcrypt hash, got ${describe(value)}`);
      return {};
    }
    const out: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const [user, hash] of Object.entries(value)) {
      if (user === '' || user.includes(':')) {
        this.#problem([...path, user], 'user names must be non-empty and hold no ":" (basic auth splits at the first ":")');
        continue;
      }
      if (typeof hash !== 'string') {
        this.#problem([...path, user], `must be a bcrypt hash string, got ${describe(hash)}`);
        continue;
      }
      const problem = bcryptHashProblem(hash);
      if (problem !== undefined) {
        this.#problem([...path, user], problem);
        continue;
      }
      out[user] = hash;
    }
    return out;
  }

  #tokenHash(value: unknown, path: Path): Buffer[] {
    if (typeof value === 'string' && TOKEN_HASH_RE.test(value)) return [Buffer.from(value.slice(7), 'hex')];
    // Never echo it: a plain token pasted here by mistake must not reach a log.
    this.#problem(path, 'must be "sha256:" and the 64 lowercase hex digits of the token\'s SHA-256 (printf %s "$TOKEN" | sha256sum); the value is not shown, it may be a token');
    return [];
  }

  #urlPath(value: unknown, path: Path): string[] {
    const s = this.#string(value, path);
    if (s === undefined) return [];
    if (!s.startsWith('/') || /[?#\s]/.test(s)) {
      this.#problem(path, `must be a URL path starting with "/" (no query), got "${s}"`);
      return [];
    }
    return [s];
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string "${value}"`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return typeof value;
}
