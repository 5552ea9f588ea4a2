import * as protobuf from 'protobufjs';
import { rpcCodecs } from '../../extension/codec';
import { InvalidRequestError } from '../../extension/hook-context';
import { postTranslateModify } from '../../extension/post-translate-modify';
import { postTranslateModifyWire } from '../../extension/post-translate-modify-wire';
import {
  depsWith,
  egCustomBackendCluster,
  egListener,
  egRouteConfiguration,
  egSecret,
  egServiceCluster,
  gatewayName,
  ns,
  webBackend,
} from './fixtures';

const codec = rpcCodecs.PostTranslateModify;
const binding = {
  namespace: ns,
  name: 'tsgw',
  gateway: { namespace: ns, name: gatewayName },
  tailnets: [],
  routeGeneration: { pathPrefix: '/tailscale/{service}/', rewritePrefix: '/' },
};
const withOurs = () => depsWith({ backends: [webBackend()], gateways: [binding] });

/** What the decoding handler answers, as the decoded lists (the form EG reads). */
const byCodec = (request: Buffer, deps: ReturnType<typeof depsWith>) =>
  codec.response.decode(codec.response.encode(postTranslateModify(codec.request.decode(request), deps)));
const byWire = (request: Buffer, deps: ReturnType<typeof depsWith>) =>
  codec.response.decode(postTranslateModifyWire(request, deps));

function seededRng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe('PostTranslateModify on the wire answers exactly as the decoding handler', () => {
  it.each([
    ['nothing included', { full: false }],
    ['every list', { full: true }],
    ['a received cluster already named like ours', { full: true, extraOurs: true }],
    ['a context with extension resources', { full: true, context: true }],
  ])('%s', (_what, opts: { full: boolean; extraOurs?: boolean; context?: boolean }) => {
    const full = opts.full;
    const request = codec.request.encode(
      full
        ? {
            ...(opts.context
              ? { postTranslateContext: { extensionResources: [{ unstructuredBytes: Buffer.from('{}') }] } }
              : {}),
            clusters: [
              egCustomBackendCluster(),
              egServiceCluster(),
              ...(opts.extraOurs ? [egServiceCluster('tailscale/tailscaleservices/default/web')] : []),
            ],
            secrets: [egSecret('default/a'), egSecret('default/b')],
            listeners: [egListener()],
            routes: [egRouteConfiguration()],
          }
        : {},
    );
    for (const deps of [depsWith(), withOurs()]) {
      expect(byWire(Buffer.from(request), deps)).toEqual(byCodec(Buffer.from(request), deps));
    }
  });

  it('for 300 seeded requests: lists in any order and mix, unknown fields, empty entries', () => {
    const rng = seededRng(42);
    const pick = <T>(xs: (() => T)[]) => xs[Math.floor(rng() * xs.length)]!();
    const deps = withOurs();
    for (let i = 0; i < 300; i++) {
      const writer = protobuf.Writer.create();
      const fields = Math.floor(rng() * 12);
      for (let f = 0; f < fields; f++) {
        const field = 2 + Math.floor(rng() * 5); // 2–5 ours to copy, 6 unknown to drop
        const bytes = pick<Uint8Array>([
          () => egCustomBackendCluster(),
          () => egServiceCluster(),
          () => egServiceCluster('tailscale/tailscaleservices/default/web'),
          () => egSecret(`default/s${f}`),
          () => egListener(),
          () => egRouteConfiguration(),
          () => new Uint8Array(0),
        ]);
        writer.uint32((field << 3) | 2).bytes(bytes);
        if (rng() < 0.1) writer.uint32((9 << 3) | 0).uint32(Math.floor(rng() * 1000)); // unknown varint
      }
      const request = Buffer.from(writer.finish());
      expect({ i, answer: byWire(request, deps) }).toEqual({ i, answer: byCodec(request, deps) });
    }
  });

  it('refuses a malformed request as invalid, as the decoding handler does', () => {
    const truncated = Buffer.from([0x12, 0xff, 0xff, 0x01]);
    const wrongWireType = Buffer.from([0x10, 0x01]); // clusters as a varint
    for (const request of [truncated, wrongWireType]) {
      expect(() => postTranslateModifyWire(request, withOurs())).toThrow(InvalidRequestError);
    }
    expect(() => codec.request.decode(truncated)).toThrow();
  });
});
