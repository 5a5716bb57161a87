/**
 * Test certificates, made when a test runs (nothing checked in, nothing that expires in the
 * repository) with the `openssl` CLI in a fresh temp dir:
 *
 * - a test CA, and a server certificate it signed for `127.0.0.1` (subjectAltName
 *   `IP:127.0.0.1, DNS:localhost` plus any `dnsNames` asked for, extendedKeyUsage serverAuth)
 *   with its key;
 * - a second CA, unrelated to the first, that a client can be given to see verification fail.
 *
 * Keys are P-256 (fast to make). Certificates are valid from now for two days. Always pair
 * {@link makeTestPki} with `after(() => pki.remove())`.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, run } from './proc.ts';

export interface TestPki {
  /** The temp dir holding every file below. */
  readonly dir: string;
  /** PEM certificate of the CA that signed {@link serverCertFile}. */
  readonly caFile: string;
  /** PEM certificate for 127.0.0.1 / localhost, signed by {@link caFile}. */
  readonly serverCertFile: string;
  /** Its unencrypted PEM private key. */
  readonly serverKeyFile: string;
  /** PEM certificate of a CA that signed nothing here: trusting only it, the server fails verification. */
  readonly otherCaFile: string;
  /** Deletes the dir (idempotent). */
  remove(): Promise<void>;
}

/** Every key: an EC P-256 key, no passphrase. */
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
const DAYS = '2';

/** Makes a self-signed CA certificate and key as `<name>.crt` / `<name>.key` in `dir`. */
async function makeCa(dir: string, name: string, commonName: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await run('openssl', [
    'req', '-x509', ...NEW_KEY, '-keyout', key, '-out', cert, '-days', DAYS, '-subj', `/CN=${commonName}`,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { cert, key };
}

export async function makeTestPki(options: { dnsNames?: readonly string[] } = {}): Promise<TestPki> {
  const names = ['IP:127.0.0.1', 'DNS:localhost', ...(options.dnsNames ?? []).map((n) => `DNS:${n}`)];
  const tmp = await makeTempDir('nodemeter-pki-');
  try {
    const dir = tmp.path;
    const ca = await makeCa(dir, 'ca', 'nodemeter test CA');
    const other = await makeCa(dir, 'other-ca', 'nodemeter unrelated test CA');

    const serverKeyFile = join(dir, 'server.key');
    const csr = join(dir, 'server.csr');
    const serverCertFile = join(dir, 'server.crt');
    const extensions = join(dir, 'server.ext');
    await run('openssl', ['req', '-new', ...NEW_KEY, '-keyout', serverKeyFile, '-out', csr, '-subj', '/CN=127.0.0.1']);
    await writeFile(
      extensions,
      [
        `subjectAltName = ${names.join(', ')}`,
        'basicConstraints = critical, CA:FALSE',
        'keyUsage = critical, digitalSignature',
        'extendedKeyUsage = serverAuth',
        '',
      ].join('\n'),
    );
    await run('openssl', [
      'x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', `0x${randomSerial()}`,
      '-days', DAYS, '-extfile', extensions, '-out', serverCertFile,
    ]);
    // The check a TLS client makes, done once here so a broken chain fails at its source.
    await run('openssl', ['verify', '-CAfile', ca.cert, '-purpose', 'sslserver', serverCertFile]);

    return { dir, caFile: ca.cert, serverCertFile, serverKeyFile, otherCaFile: other.cert, remove: tmp.remove };
  } catch (err) {
    await tmp.remove();
    throw err;
  }
}

/** 16 random hex digits with the top bit clear (a positive serial). */
function randomSerial(): string {
  const bytes = randomBytes(8);
  bytes[0] = bytes[0]! & 0x7f;
  return Buffer.from(bytes).toString('hex');
}
