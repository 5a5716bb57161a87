/** The test Kubernetes API server and its fixtures; see README.md. */
export { KubeApiServer, type KubeApiServerOptions, type LoggedRequest } from './server.ts';
export type { KubeObject } from './resources.ts';
export * as fixtures from './fixtures.ts';
