import { createLogger } from '../../runtime/logger';
import {
  healthAddressFromEnv,
  startHealthServerFromEnv,
  type HealthServer,
} from '../../runtime/health-server';

const quiet = createLogger({ write: () => {} });

describe('the probe server of the worker and the watchers', () => {
  let server: HealthServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('is off unless HEALTH_ADDRESS is set', async () => {
    expect(
      await startHealthServerFromEnv({ ready: () => undefined, logger: quiet, env: {} }),
    ).toBeUndefined();
  });

  it.each([
    ['0.0.0.0:8080', { host: '0.0.0.0', port: 8080 }],
    [':9090', { host: '0.0.0.0', port: 9090 }],
    ['[::1]:8081', { host: '::1', port: 8081 }],
  ])('parses %s', (raw, want) => {
    expect(healthAddressFromEnv({ HEALTH_ADDRESS: raw })).toEqual(want);
  });

  it.each(['8080', 'localhost', 'host:99999', 'http://0.0.0.0:8080'])(
    'rejects %s naming the variable',
    (raw) => {
      expect(() => healthAddressFromEnv({ HEALTH_ADDRESS: raw })).toThrow(
        /HEALTH_ADDRESS=.* must be host:port/,
      );
    },
  );

  it('answers /healthz always and /ready from the readiness check, with its reason', async () => {
    let reason: string | undefined = '2 informer(s) have not listed yet';
    server = await startHealthServerFromEnv({
      ready: () => reason,
      logger: quiet,
      env: { HEALTH_ADDRESS: '127.0.0.1:0' },
    });
    const get = async (path: string) => {
      const res = await fetch(`http://127.0.0.1:${server?.port}${path}`);
      return [res.status, (await res.text()).trim()];
    };
    expect(await get('/healthz')).toEqual([200, 'ok']);
    expect(await get('/ready')).toEqual([503, '2 informer(s) have not listed yet']);
    reason = undefined;
    expect(await get('/ready')).toEqual([200, 'ready']);
    expect(await get('/metrics')).toEqual([404, 'not found']);
  });
});
