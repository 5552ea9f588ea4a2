import type { WireObject } from '../../../activities/kubernetes/apply';
import { proxyTooOld, proxyTooOldMessage } from '../../../activities/proxies/proxy-version';

const image = 'tailscale/tailscale:v1.62.1';
const exited = (message: string, ready = false): WireObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-0', uid: 'u1' },
  spec: { containers: [{ name: 'tailscale', image }] },
  status: {
    containerStatuses: [
      {
        name: 'tailscale',
        image,
        ready,
        state: { waiting: { reason: 'CrashLoopBackOff' } },
        lastState: { terminated: { exitCode: 1, message } },
      },
    ],
  },
});
const noFile = (shown: string) =>
  `boot: 2026/12/06 03:53:43 no tailscaled config file found in "/etc/tsconfig/web-0" for current capability version ${shown}\n`;

describe('proxyTooOld: a proxy that cannot load the config we write', () => {
  it("reads containerboot's exit message, the version printed as a number or, before 107, a quoted character", () => {
    expect(proxyTooOld(exited(noFile('95')), {})).toEqual({
      pod: 'web-0',
      image,
      capVersion: 95,
    });
    expect(proxyTooOld(exited(noFile("'_'")), {})?.capVersion).toBe(95);
  });

  it('ignores other exits, a container that is ready again, and a capver at or above the minimum', () => {
    expect(proxyTooOld(exited('boot: invalid configuration: unknown field "X"'), {})).toBeUndefined();
    expect(proxyTooOld(exited(noFile('95'), true), {})).toBeUndefined();
    expect(proxyTooOld(exited(''), { capVersion: 106, podUid: 'u1' })).toBeUndefined();
  });

  it("takes tailscale_capver below the minimum only from the running pod's own write", () => {
    expect(proxyTooOld(exited(''), { capVersion: 100, podUid: 'u1' })?.capVersion).toBe(100);
    expect(proxyTooOld(exited(''), { capVersion: 100, podUid: 'older-pod' })).toBeUndefined();
  });

  it('names the image, the minimum version and the class to change', () => {
    expect(proxyTooOldMessage([{ pod: 'web-0', image, capVersion: 95 }], 'edge')).toBe(
      `web-0 runs ${image} (tailscaled capability version 95): the operator writes the tailscaled config for capability version 106, which these proxies cannot load. Set spec.image of TailscaleProxyClass edge to a tailscale image of capability version 106 or later`,
    );
  });
});
