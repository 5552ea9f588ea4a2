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
