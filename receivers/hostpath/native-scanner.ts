import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Where scripts/build-native.sh puts the compiled scanner (native/walkdir.c). */
export const NATIVE_SCANNER_PATH = fileURLToPath(new URL('./native/build/walkdir.node', import.meta.url));

/** Which scanner a walk thread uses for a directory. */
export type ScannerKind = 'native' | 'node-fs';

export interface ScannerChoice {
  readonly kind: ScannerKind;
  /** The module to load in each walk thread (kind `native`). */
  readonly nativePath?: string;
  /** Why the native scanner is not used (kind `node-fs`). */
  readonly reason?: string;
}

let cached: ScannerChoice | undefined;

/**
 * The native scanner if it was built and loads on this runtime, else Node's fs calls. Loaded
 * once here, on the main thread, so a broken build is found at start and not in every thread.
 */
export function chooseScanner(): ScannerChoice {
  if (cached) return cached;
  if (!existsSync(NATIVE_SCANNER_PATH)) {
    cached = { kind: 'node-fs', reason: `${NATIVE_SCANNER_PATH} is not built (scripts/build-native.sh needs a C compiler and the dev dependencies)` };
    return cached;
  }
  try {
    const loaded = createRequire(import.meta.url)(NATIVE_SCANNER_PATH) as { scan?: unknown };
    if (typeof loaded.scan !== 'function') throw new Error('it exports no scan()');
    cached = { kind: 'native', nativePath: NATIVE_SCANNER_PATH };
  } catch (err) {
    cached = { kind: 'node-fs', reason: `${NATIVE_SCANNER_PATH} does not load: ${(err as Error).message}` };
  }
  return cached;
}
