import { createHash } from 'node:crypto';
import { PROBE_PATHS } from '../../pipeline/route-table.ts';

/**
 * The web config file (`--web-config-file`): the Prometheus exporter-toolkit format
 * (`tls_server_config`, `http_server_config`, `basic_auth_users`, `auth_excluded_paths`) plus
 * nodemeter's bearer-token keys. Paths in it are already resolved against the file's directory.
 */

/** exporter-toolkit's client certificate policies (Go's tls.ClientAuthType names). */
export const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

/** exporter-toolkit's version names → Node's. */
export const TLS_VERSIONS = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;
export type TlsVersionName = keyof typeof TLS_VERSIONS;
/** The version names oldest first: one is newer than another when it comes later here. */
export const TLS_VERSION_NAMES = Object.keys(TLS_VERSIONS) as TlsVersionName[];

/** exporter-toolkit's curve names → OpenSSL's. */
export const CURVES: Readonly<Record<string, string>> = { CurveP256: 'P-256', CurveP384: 'P-384', CurveP521: 'P-521', X25519: 'X25519' };

/**
 * Go's secure TLS 1.2 cipher suite names (what exporter-toolkit accepts) → OpenSSL's. The TLS 1.3
 * suites are accepted and, as in Go, have no effect: TLS 1.3 always offers its own three.
 */
export const CIPHER_SUITES: Readonly<Record<string, string | null>> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_AES_128_GCM_SHA256: null,
  TLS_AES_256_GCM_SHA384: null,
  TLS_CHACHA20_POLY1305_SHA256: null,
};

/**
 * Response headers an operator may set, with their allowed values (none: any value). The same
 * short list as exporter-toolkit's, so a file written for an exporter means the same here.
 */
export const CONFIGURABLE_HEADERS: Readonly<Record<string, readonly string[] | undefined>> = {
  'Strict-Transport-Security': undefined,
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': undefined,
  'Content-Security-Policy': undefined,
};

/** Paths served without credentials when `auth_excluded_paths` is not given: the kubelet's probes. */
export const DEFAULT_AUTH_EXCLUDED_PATHS: readonly string[] = PROBE_PATHS;

/** A PEM value: from a file (re-read when it changes) or written inline in the web config. */
export type PemSource = { readonly file: string } | { readonly inline: string };

export interface TlsServerConfig {
  readonly cert: PemSource;
  readonly key: PemSource;
  readonly clientAuthType: ClientAuthType;
  readonly clientCa: PemSource | undefined;
  readonly clientAllowedSans: readonly string[] | undefined;
  readonly minVersion: TlsVersionName;
  readonly maxVersion: TlsVersionName;
  /** OpenSSL names; undefined: Node's defaults. */
  readonly cipherSuites: readonly string[] | undefined;
  readonly preferServerCipherSuites: boolean;
  /** OpenSSL names; undefined: Node's defaults. */
  readonly curves: readonly string[] | undefined;
}

export interface WebConfig {
  /** The file it came from (as given), for messages. */
  readonly source: string;
  readonly tls: TlsServerConfig | undefined;
  /** Header name → value, blanks left out. */
  readonly headers: Readonly<Record<string, string>>;
  /** User name → bcrypt hash. */
  readonly basicAuthUsers: Readonly<Record<string, string>>;
  /** SHA-256 digests (32 bytes each) of accepted bearer tokens. */
  readonly bearerTokenHashes: readonly Buffer[];
  /** Files each holding one accepted bearer token (re-read when they change). */
  readonly bearerTokenFiles: readonly string[];
  /** Paths served without credentials (exact match). */
  readonly authExcludedPaths: readonly string[];
  /** `rate_limit`: one request per `intervalMs`, bursts of up to `burst`; undefined: no limit. */
  readonly rateLimit: RateLimit | undefined;
}

export interface RateLimit {
  readonly intervalMs: number;
  readonly burst: number;
}

/** True when some credential is required on the paths not excluded. */
export function authRequired(config: WebConfig): boolean {
  return Object.keys(config.basicAuthUsers).length > 0 || config.bearerTokenHashes.length > 0 || config.bearerTokenFiles.length > 0;
}

/**
 * A watched file's state for change detection: a digest of its bytes. Loading notes the state of
 * each file it reads, and the agent compares against that on every poll.
 */
export function fileState(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('base64');
}

/** The files the agent keeps watching: the web config itself and every file it names. */
export function watchedFiles(config: WebConfig): string[] {
  const files = [config.source, ...config.bearerTokenFiles];
  for (const pem of [config.tls?.cert, config.tls?.key, config.tls?.clientCa]) if (pem && 'file' in pem) files.push(pem.file);
  return files;
}
