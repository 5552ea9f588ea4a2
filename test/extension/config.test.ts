import { defaultCallLimits } from '../../extension/call-gate';
import { loadExtensionConfig } from '../../extension/config';

describe('extension config: where gRPC listens and how many calls it holds', () => {
  it('listens on the pod IP when the chart gives one, on every interface otherwise', () => {
    expect(loadExtensionConfig({}).grpcAddress).toBe('0.0.0.0:5005');
    expect(loadExtensionConfig({ POD_IP: '10.1.2.3', EXTENSION_GRPC_PORT: '15005' }).grpcAddress).toBe(
      '10.1.2.3:15005',
    );
    expect(loadExtensionConfig({ POD_IP: 'fd00::7' }).grpcAddress).toBe('[fd00::7]:5005');
    expect(
      loadExtensionConfig({ POD_IP: '10.1.2.3', EXTENSION_GRPC_ADDRESS: '127.0.0.1:0' }).grpcAddress,
    ).toBe('127.0.0.1:0');
  });

  it('takes the call limits from the environment, whole and positive', () => {
    expect(loadExtensionConfig({})).toMatchObject({
      maxConcurrentCalls: defaultCallLimits.maxInFlight,
      maxQueuedCalls: defaultCallLimits.maxQueued,
    });
    expect(
      loadExtensionConfig({ EXTENSION_MAX_CONCURRENT_CALLS: '3', EXTENSION_MAX_QUEUED_CALLS: '8' }),
    ).toMatchObject({ maxConcurrentCalls: 3, maxQueuedCalls: 8 });
    expect(() => loadExtensionConfig({ EXTENSION_MAX_CONCURRENT_CALLS: '1.5' })).toThrow(
      /EXTENSION_MAX_CONCURRENT_CALLS/,
    );
    expect(() => loadExtensionConfig({ EXTENSION_MAX_QUEUED_CALLS: '0' })).toThrow(
      /EXTENSION_MAX_QUEUED_CALLS/,
    );
  });
});
