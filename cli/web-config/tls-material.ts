import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { errorMessage } from '../../pipeline/errors.ts';
import { ioProblem } from './io-problem.ts';
import { CURVES, fileState, TLS_VERSION_NAMES, TLS_VERSIONS, type PemSource, type TlsServerConfig } from './web-config.ts';

/** Certificates and keys are a few KiB; anything this big is the wrong file. */
const MAX_PEM_BYTES = 1024 * 1024;

/** A problem with one PEM key of `tls_server_config`, named as the file names it. */
export interface TlsProblem {
  /** Path under the web config, e.g. `['tls_server_config', 'key_file']`. */
  readonly path: readonly string[];
  readonly message: string;
}

/** What the served certificate is, for log lines (nothing secret). */
export interface CertificateSummary {
  readonly subject: string;
  readonly serialNumber: string;
  readonly notAfter: string;
  readonly fingerprint256: string;
}

export interface TlsMaterial {
  /** For https.createServer and server.setSecureContext. */
  readonly context: SecureContextOptions;
  readonly certificate: CertificateSummary;
}

export type TlsLoadResult = { readonly ok: true; readonly material: TlsMaterial } | { readonly ok: false; readonly problems: readonly TlsProblem[] };

const PEM_CERT_RE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function keyName(source: PemSource, inlineKey: string, fileKey: string): string[] {
  return ['tls_server_config', 'file' in source ? fileKey : inlineKey];
}

/** Reads a PEM source, noting a file's state in `states` when given; the message names the file, never its contents. */
export function readPem(source: PemSource, states?: Map<string, string>): { text: string } | { error: string } {
  if ('inline' in source) return { text: source.inline };
  try {
    const size = statSync(source.file).size;
    if (size > MAX_PEM_BYTES) return { error: `${source.file} is ${size} bytes; a PEM certificate or key is far smaller (wrong file?)` };
    const bytes = readFileSync(source.file);
    states?.set(source.file, fileState(bytes));
    return { text: bytes.toString('utf8') };
  } catch (err) {
    return { error: `cannot read ${source.file}: ${ioProblem(err)}` };
  }
}

/**
 * Reads and checks the server certificate, its key and the client CA as the TLS settings name
 * them: each must parse, and the key must belong to the certificate. Used at start (problems
 * become config errors) and on every change (problems are logged and the old pair kept).
 */
export function loadTlsMaterial(tls: TlsServerConfig, states?: Map<string, string>): TlsLoadResult {
  const problems: TlsProblem[] = [];
  const certPath = keyName(tls.cert, 'cert', 'cert_file');
  const keyPath = keyName(tls.key, 'key', 'key_file');
  const where = (source: PemSource, inlineKey: string) => ('file' in source ? source.file : `the inline ${inlineKey}`);

  const certText = readPem(tls.cert, states);
  let certificate: X509Certificate | undefined;
  if ('error' in certText) problems.push({ path: certPath, message: certText.error });
  else if (certText.text.match(PEM_CERT_RE) === null) problems.push({ path: certPath, message: `${where(tls.cert, 'cert')} holds no PEM certificate ("-----BEGIN CERTIFICATE-----")` });
  else {
    try {
      certificate = new X509Certificate(certText.text);
    } catch (err) {
      problems.push({ path: certPath, message: `${where(tls.cert, 'cert')}: the certificate does not parse: ${errorMessage(err)}` });
    }
  }

  const keyText = readPem(tls.key, states);
  let privateKey: ReturnType<typeof createPrivateKey> | undefined;
  if ('error' in keyText) problems.push({ path: keyPath, message: keyText.error });
  else {
    try {
      privateKey = createPrivateKey(keyText.text);
    } catch (err) {
      // OpenSSL's message names the failing decoder, not the key's bytes.
      problems.push({ path: keyPath, message: `${where(tls.key, 'key')} holds no usable unencrypted PEM private key: ${errorMessage(err)}` });
    }
  }
  if (certificate && privateKey && !certificate.checkPrivateKey(privateKey)) {
    problems.push({ path: keyPath, message: `the private key in ${where(tls.key, 'key')} does not match the certificate in ${where(tls.cert, 'cert')}` });
  }
  if (certificate) problems.push(...tls12Problems(certificate, tls));

  let caText: string | undefined;
  if (tls.clientCa) {
    const caPath = keyName(tls.clientCa, 'client_ca', 'client_ca_file');
    const ca = readPem(tls.clientCa, states);
    if ('error' in ca) problems.push({ path: caPath, message: ca.error });
    else {
      const blocks = ca.text.match(PEM_CERT_RE) ?? [];
      if (blocks.length === 0) problems.push({ path: caPath, message: `${where(tls.clientCa, 'client_ca')} holds no PEM certificate` });
      for (const block of blocks) {
        try {
          new X509Certificate(block);
        } catch (err) {
          problems.push({ path: caPath, message: `${where(tls.clientCa, 'client_ca')}: a CA certificate does not parse: ${errorMessage(err)}` });
        }
      }
      caText = ca.text;
    }
  }
  if (problems.length > 0 || !certificate || 'error' in certText || 'error' in keyText) return { ok: false, problems };

  const context: SecureContextOptions = {
    cert: certText.text,
    key: keyText.text,
    minVersion: TLS_VERSIONS[tls.minVersion],
    maxVersion: TLS_VERSIONS[tls.maxVersion],
    honorCipherOrder: tls.preferServerCipherSuites,
    ...(caText === undefined ? {} : { ca: caText }),
    // TLS 1.3 suites stay on: OpenSSL sets them apart from this TLS 1.2 list.
    ...(tls.cipherSuites === undefined ? {} : { ciphers: tls.cipherSuites.join(':') }),
    ...(tls.curves === undefined ? {} : { ecdhCurve: tls.curves.join(':') }),
  };
  try {
    // What the server will do with it: catches what the checks above do not (an unusable cipher list).
    createSecureContext(context);
  } catch (err) {
    return { ok: false, problems: [{ path: ['tls_server_config'], message: `the TLS settings are not usable: ${errorMessage(err)}` }] };
  }
  return {
    ok: true,
    material: {
      context,
      certificate: {
        subject: certificate.subject,
        serialNumber: certificate.serialNumber,
        notAfter: certificate.validTo,
        fingerprint256: certificate.fingerprint256,
      },
    },
  };
}

/** The named curves a certificate's EC key may be on → OpenSSL's group names (as in CURVES). */
const KEY_CURVES: Readonly<Record<string, string>> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

/**
 * Settings that would make every TLS 1.2 handshake fail with this certificate, which
 * createSecureContext accepts without a word: no cipher suite for the key's type, or (OpenSSL's
 * rule, not Go's) curve_preferences without the curve the certificate's own EC key is on.
 */
function tls12Problems(certificate: X509Certificate, tls: TlsServerConfig): TlsProblem[] {
  if (TLS_VERSION_NAMES.indexOf(tls.minVersion) > TLS_VERSION_NAMES.indexOf('TLS12')) return [];
  const key = certificate.publicKey;
  const problems: TlsProblem[] = [];
  const curve = key.asymmetricKeyType === 'ec' ? KEY_CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''] : undefined;
  if (curve !== undefined && tls.curves !== undefined && !tls.curves.includes(curve)) {
    const name = Object.keys(CURVES).find((n) => CURVES[n] === curve) ?? curve;
    problems.push({
      path: ['tls_server_config', 'curve_preferences'],
      message: `leaves out ${name}, the curve of the certificate's key: OpenSSL then refuses every TLS 1.2 handshake (Go's TLS does not); add ${name}, or set min_version: TLS13`,
    });
  }
  const kind = key.asymmetricKeyType === 'ec' ? 'ECDSA' : key.asymmetricKeyType === 'rsa' ? 'RSA' : undefined;
  if (kind !== undefined && tls.cipherSuites !== undefined && !tls.cipherSuites.some((suite) => suite.includes(`-${kind}-`))) {
    problems.push({
      path: ['tls_server_config', 'cipher_suites'],
      message: `has no suite for the certificate's ${kind} key, so every TLS 1.2 handshake would fail; add a TLS_ECDHE_${kind}_WITH_… suite, or set min_version: TLS13`,
    });
  }
  return problems;
}
