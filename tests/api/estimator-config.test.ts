// The estimator canary's and the drift breaker's settings (docs/estimators.md, README).
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../infra/config.ts';

describe('estimator canary and breaker settings', () => {
  it('default to a daily canary of 50 runs, disabling at P2, no auto-recovery', () => {
    expect(loadConfig({})).toMatchObject({
      AOS_CANARY_INTERVAL_MS: 86_400_000,
      AOS_CANARY_SAMPLE: 50,
      AOS_BREAKER_MIN_SEVERITY: 'P2',
      AOS_BREAKER_AUTO_RECOVERY: 'off',
    });
    expect(
      loadConfig({
        AOS_CANARY_INTERVAL_MS: '0',
        AOS_CANARY_SAMPLE: '7',
        AOS_BREAKER_MIN_SEVERITY: 'P1',
        AOS_BREAKER_AUTO_RECOVERY: 'on',
      }),
    ).toMatchObject({
      AOS_CANARY_INTERVAL_MS: 0,
      AOS_CANARY_SAMPLE: 7,
      AOS_BREAKER_MIN_SEVERITY: 'P1',
      AOS_BREAKER_AUTO_RECOVERY: 'on',
    });
  });

  for (const env of [
    { AOS_CANARY_INTERVAL_MS: '500' },
    { AOS_CANARY_INTERVAL_MS: 'daily' },
    { AOS_CANARY_SAMPLE: '0' },
    { AOS_BREAKER_MIN_SEVERITY: 'P4' },
    { AOS_BREAKER_AUTO_RECOVERY: 'yes' },
  ]) {
    it(`refuses ${JSON.stringify(env)} naming the variable`, () => {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(Object.keys(env)[0]!);
    });
  }
});
