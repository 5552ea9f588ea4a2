import type { KubeObject } from '../api/common';
import type { WatchedKind } from './watched-kind';

/** Watched kinds of the proxy machinery (TailscaleEndpoints, TailscaleProxyGroup). */
export const proxyWatchedKinds: WatchedKind<KubeObject<unknown, unknown>>[] = [];
