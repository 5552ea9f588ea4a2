import type { CrdDefinition } from '../crd';
import { tailscaleTailnetCrd } from './tailscale-tailnet';

export * from './tailscale-tailnet';

/** Every CRD this operator installs, in the order `deploy/crds/` lists them. */
export const allCrds: CrdDefinition<unknown, unknown>[] = [tailscaleTailnetCrd];
