import type { Configuration } from 'webpack';

/**
 * Bundle options that shrink every workflow timer by `scale` (tests and benchmarks only): the workflow
 * interceptor in workflows/timer-scale.ts, with the scale compiled into the bundle. webpack is loaded
 * here, only when a scale is asked for.
 */
export async function timerScaleBundleOptions(scale: number) {
  if (!(scale > 0)) throw new Error(`timer scale must be a positive number, got ${scale}`);
  const { DefinePlugin } = await import('webpack');
  return {
    workflowInterceptorModules: [require.resolve('../workflows/timer-scale')],
    webpackConfigHook: (config: Configuration): Configuration => ({
      ...config,
      plugins: [...(config.plugins ?? []), new DefinePlugin({ TSGW_TIMER_SCALE: JSON.stringify(scale) })],
    }),
  };
}
