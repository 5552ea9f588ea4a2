import { ConfigError, loadOperatorConfig } from '../../runtime/config';

describe('TIMER_SCALE', () => {
  it('is 1 unless set, and takes any positive number', () => {
    expect(loadOperatorConfig({}).timerScale).toBe(1);
    expect(loadOperatorConfig({ TIMER_SCALE: '0.004' }).timerScale).toBe(0.004);
  });

  it.each(['0', '-1', 'fast'])('rejects %s with the variable named', (raw) => {
    expect(() => loadOperatorConfig({ TIMER_SCALE: raw })).toThrow(ConfigError);
    expect(() => loadOperatorConfig({ TIMER_SCALE: raw })).toThrow(/TIMER_SCALE/);
  });
});

describe('PROXY_ALLOWED_TAGS', () => {
  it('is empty (no limit) unless set, and takes comma-separated tags', () => {
    expect(loadOperatorConfig({}).allowedTags).toEqual([]);
    expect(loadOperatorConfig({ PROXY_ALLOWED_TAGS: 'tag:k8s, tag:web' }).allowedTags).toEqual([
      'tag:k8s',
      'tag:web',
    ]);
  });

  it.each(['k8s', 'tag:', 'tag:a,web'])('rejects %s with the variable named', (raw) => {
    expect(() => loadOperatorConfig({ PROXY_ALLOWED_TAGS: raw })).toThrow(/PROXY_ALLOWED_TAGS/);
  });
});

describe('Worker Versioning (TEMPORAL_WORKER_DEPLOYMENT_NAME, TEMPORAL_WORKER_BUILD_ID)', () => {
  it('is off unless both are set', () => {
    expect(loadOperatorConfig({}).worker.deployment).toBeUndefined();
    expect(
      loadOperatorConfig({
        TEMPORAL_WORKER_DEPLOYMENT_NAME: 'tsgw-worker',
        TEMPORAL_WORKER_BUILD_ID: '1.2.3',
      }).worker.deployment,
    ).toEqual({ deploymentName: 'tsgw-worker', buildId: '1.2.3' });
  });

  it.each([{ TEMPORAL_WORKER_DEPLOYMENT_NAME: 'tsgw-worker' }, { TEMPORAL_WORKER_BUILD_ID: '1.2.3' }])(
    'refuses one without the other (%o)',
    (env) => {
      expect(() => loadOperatorConfig(env)).toThrow(/must be set together/);
    },
  );

  it('refuses a deployment name with a dot (Temporal joins name and build with one)', () => {
    expect(() =>
      loadOperatorConfig({ TEMPORAL_WORKER_DEPLOYMENT_NAME: 'a.b', TEMPORAL_WORKER_BUILD_ID: '1' }),
    ).toThrow(/TEMPORAL_WORKER_DEPLOYMENT_NAME/);
  });
});
