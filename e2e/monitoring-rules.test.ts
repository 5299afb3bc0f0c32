import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { renderAlertmanagerConfig } from './support/alertmanager.js';
import { composeConfig, REPO_ROOT } from './support/compose.js';
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

interface AlertmanagerConfig {
  global: Record<string, unknown>;
  receivers: { name: string; email_configs?: { to: string }[]; webhook_configs?: { url: string }[]; slack_configs?: { api_url: string }[] }[];
}

describe('monitoring/alertmanager.yml (rendered by its entrypoint, checked by amtool)', () => {
  const environment = composeConfig('docker-compose.yml').services.alertmanager!.environment ?? {};
  const rendered = async (env: Record<string, string | null>) => {
    const { text, amtool } = await renderAlertmanagerConfig(env);
    expect(amtool.code, amtool.output).toBe(0);
    return parse(text) as AlertmanagerConfig;
  };

  test('when rendered with what compose passes (.env.example values), then amtool accepts it and alerts go by email to MailDev only', async () => {
    const config = await rendered(environment);
    expect(config.global).toMatchObject({ smtp_smarthost: 'maildev:1025', smtp_auth_username: '', smtp_require_tls: false });
    expect(config.receivers).toEqual([{ name: 'operators', email_configs: [expect.objectContaining({ to: 'operators@hubspoke.local' })] }]);
  });

  test('when the webhook and Slack URLs are set, then amtool accepts it and the receiver also posts to both', async () => {
    const webhook = 'https://oncall.example.com/integrations/v1/alertmanager/abc/';
    const slack = 'https://hooks.slack.com/services/T0/B0/x';
    const [operators] = (await rendered({ ...environment, ALERT_WEBHOOK_URL: webhook, ALERT_SLACK_WEBHOOK_URL: slack })).receivers;
    expect(operators).toMatchObject({ webhook_configs: [{ url: webhook }], slack_configs: [{ api_url: slack }] });
  });

  test('when a value holds quotes, backslashes or sed\'s special characters, then it arrives unchanged', async () => {
    const password = String.raw`p"a\s&s|w/rd`;
    const config = await rendered({ ...environment, ALERT_SMTP_USER: 'alerts', ALERT_SMTP_PASSWORD: password });
    expect(config.global).toMatchObject({ smtp_auth_username: 'alerts', smtp_auth_password: password });
  });

  test('when a variable the template names is not set, then the entrypoint refuses to start, naming it', async () => {
    const { ALERT_EMAIL_TO: _unset, ...rest } = environment;
    await expect(renderAlertmanagerConfig(rest)).rejects.toThrow(/alertmanager: ALERT_EMAIL_TO is not set/);
  });
});
