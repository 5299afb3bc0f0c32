import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from './support/compose.js';
import { promtool } from './support/promtool.js';

interface RuleTests {
  tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}

const alertNames = (parse(readFileSync(join(REPO_ROOT, 'monitoring/alerts.yml'), 'utf8')) as { groups: { rules: { alert?: string }[] }[] })
  .groups.flatMap((group) => group.rules.flatMap((rule) => (rule.alert ? [rule.alert] : [])));
const testFiles = readdirSync(join(REPO_ROOT, 'monitoring/tests')).filter((file) => file.endsWith('.yml')).map((file) => `monitoring/tests/${file}`);

describe('monitoring/ (promtool)', () => {
  test('when promtool checks prometheus.yml and alerts.yml, then both are valid', () => {
    for (const args of [['check', 'config', 'monitoring/prometheus.yml'], ['check', 'rules', 'monitoring/alerts.yml']]) {
      const { code, output } = promtool(...args);
      expect(code, output).toBe(0);
    }
  });

  test('when the rule unit tests run, then they pass, and every alert fires in at least one of them', () => {
    const { code, output } = promtool('test', 'rules', ...testFiles);
    expect(code, output).toBe(0);
    const fired = testFiles.flatMap((file) => (parse(readFileSync(join(REPO_ROOT, file), 'utf8')) as RuleTests).tests)
      .flatMap((t) => t.alert_rule_test ?? []).filter((t) => t.exp_alerts.length > 0).map((t) => t.alertname);
    expect(alertNames.filter((name) => !fired.includes(name))).toEqual([]);
  });

  test('when the alerts are listed, then each situation an operator is paged for has one', () => {
    expect(alertNames).toEqual(expect.arrayContaining([
      'HubDown', 'SpokeWithoutLiveInstance', 'InstanceFlapping', 'BreakerOpen', 'LoadShedding', 'SpokeErrorRatioHigh', 'SpokeLatencyHigh',
      'JobStalled', 'TaskFailureRateHigh', 'DeadLetters', 'OutboxBacklogGrowing', 'TargetDown', 'RoutePrefixClaimRefused',
    ]));
  });
});
