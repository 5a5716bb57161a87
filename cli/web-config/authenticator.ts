import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { bcryptCost } from './bcrypt-hash.ts';
import { CredentialCache } from './credential-cache.ts';
import { GateFullError, SerialGate } from './serial-gate.ts';

/**
 * `ok`: credentials accepted; `missing`: none sent; `denied`: wrong or malformed;
 * `busy`: too many bcrypt comparisons waiting, try again shortly.
 */
export type AuthOutcome = 'ok' | 'missing' | 'denied' | 'busy';

export interface AuthenticatorOptions {
  /** User name → bcrypt hash. */
  readonly users: Readonly<Record<string, string>>;
  /** SHA-256 digests of the accepted bearer tokens; asked on every request (token files change). */
  readonly tokenDigests: () => readonly Buffer[];
  /** How many bcrypt comparisons may wait behind the running one; default 32. */
  readonly maxWaiting?: number;
}

/** bcrypt reads at most 72 bytes; Go's bcrypt (exporter-toolkit) refuses longer passwords, so do we. */
const BCRYPT_MAX_PASSWORD_BYTES = 72;

/**
 * Checks an `Authorization` header against bcrypt-hashed basic-auth users and SHA-256-hashed
 * bearer tokens. Comparisons it makes itself are constant-time; bcrypt runs asynchronously
 * (bcryptjs yields to the event loop between rounds), one at a time, and successes are cached.
 * An unknown user costs the same bcrypt work as a known one (a decoy hash), so response times
 * do not tell which user names exist.
 */
export class Authenticator {
  readonly #users: ReadonlyMap<string, string>;
  readonly #tokenDigests: () => readonly Buffer[];
  readonly #cache = new CredentialCache();
  readonly #gate: SerialGate;
  readonly #decoyCost: number;
  #decoy: Promise<string> | undefined;

  constructor(options: AuthenticatorOptions) {
    this.#users = new Map(Object.entries(options.users));
    this.#tokenDigests = options.tokenDigests;
    this.#gate = new SerialGate(options.maxWaiting ?? 32);
    this.#decoyCost = Math.max(4, ...[...this.#users.values()].map(bcryptCost));
  }

  get acceptsBasic(): boolean {
    return this.#users.size > 0;
  }

  get acceptsBearer(): boolean {
    return this.#tokenDigests().length > 0;
  }

  /** Successful basic-auth checks remembered (for tests and diagnostics). */
  get cachedCredentials(): number {
    return this.#cache.size;
  }

  async check(authorization: string | undefined): Promise<AuthOutcome> {
    if (authorization === undefined || authorization.trim() === '') return 'missing';
    const space = authorization.indexOf(' ');
    const scheme = (space < 0 ? authorization : authorization.slice(0, space)).toLowerCase();
    const value = space < 0 ? '' : authorization.slice(space + 1).trim();
    if (scheme === 'bearer' && this.acceptsBearer) return this.#checkBearer(value);
    if (scheme === 'basic' && this.acceptsBasic) return this.#checkBasic(value);
    return 'denied';
  }

  #checkBearer(token: string): AuthOutcome {
    if (token === '') return 'denied';
    const digest = createHash('sha256').update(token, 'utf8').digest();
    let match = false;
    // Every digest is compared, so the time does not depend on which one matched.
    for (const expected of this.#tokenDigests()) if (timingSafeEqual(digest, expected)) match = true;
    return match ? 'ok' : 'denied';
  }

  async #checkBasic(encoded: string): Promise<AuthOutcome> {
    if (!/^[A-Za-z0-9+/]+=*$/.test(encoded)) return 'denied';
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return 'denied';
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const hash = this.#users.get(user);
    if (hash !== undefined && this.#cache.has(user, password, hash)) return 'ok';
    const tooLong = Buffer.byteLength(password, 'utf8') > BCRYPT_MAX_PASSWORD_BYTES;
    try {
      const matched = await this.#gate.run(async () => {
        const against = hash ?? (await this.#decoyHash());
        const same = await bcrypt.compare(password, against);
        return same && hash !== undefined && !tooLong;
      });
      if (!matched || hash === undefined) return 'denied';
      this.#cache.add(user, password, hash);
      return 'ok';
    } catch (err) {
      if (err instanceof GateFullError) return 'busy';
      throw err;
    }
  }

  /** A hash of a random password at the highest configured cost, made on first need. */
  #decoyHash(): Promise<string> {
    this.#decoy ??= bcrypt.hash(randomBytes(16).toString('hex'), this.#decoyCost);
    return this.#decoy;
  }
}
