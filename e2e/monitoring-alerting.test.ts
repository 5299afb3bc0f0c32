import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stringify } from 'yaml';
import { startSmtpCatcher, type SmtpCatcher } from '../spokes/notification-service/test/support/smtp-catcher.js';
import { startWebhookReceiver } from '../spokes/notification-service/test/support/webhook-receiver.js';
import { startAlertmanager, type LocalAlertmanager } from './support/alertmanager.js';
import { REPO_ROOT } from './support/compose.js';
import { startPrometheus, type LocalPrometheus } from './support/prometheus.js';

type Receiver = Awaited<ReturnType<typeof startWebhookReceiver>>;
// The project's template with its 30 s first wait cut to 1 s: the receivers are what is under test.
const TEMPLATE = readFileSync(join(REPO_ROOT, 'monitoring/alertmanager.yml'), 'utf8');
const FAST_TEMPLATE = TEMPLATE.replace(/^( {2}group_wait:) 30s$/m, '$1 1s');
// Fires at once, labelled like the project's rules.
const RULES = {
  groups: [{
    name: 'delivery', rules: [{
      alert: 'AlertPathCheck', expr: 'vector(1)', labels: { severity: 'warning', service: 'user' },
      annotations: { summary: 'user answers 5xx to 12% of requests', description: 'Checks that an alert reaches people.' },
    }],
  }],
};
const DELIVERY_MS = 20_000;
/** Alertmanager's HTML mail body is quoted-printable: soft line breaks and =XX escapes. */
const quotedPrintable = (raw: string) => raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));

describe('alert delivery: Prometheus → Alertmanager (monitoring/alertmanager.yml through its entrypoint) → receivers', () => {
  let smtp: SmtpCatcher;
  let webhook: Receiver;
  let slack: Receiver;
  let alertmanager: LocalAlertmanager;
  let prometheus: LocalPrometheus;
  let rulesDir: string;

  beforeAll(async () => {
    expect(FAST_TEMPLATE).not.toBe(TEMPLATE);
    [smtp, webhook, slack] = await Promise.all([startSmtpCatcher(), startWebhookReceiver([200]), startWebhookReceiver([200])]);
    alertmanager = await startAlertmanager(FAST_TEMPLATE, {
      ALERT_EMAIL_TO: 'on-call@example.com', ALERT_EMAIL_FROM: 'hubspoke alerts <alerts@example.com>',
      ALERT_SMTP_SMARTHOST: `127.0.0.1:${smtp.port}`, ALERT_SMTP_USER: '', ALERT_SMTP_PASSWORD: '', ALERT_SMTP_REQUIRE_TLS: 'false',
      ALERT_WEBHOOK_URL: webhook.url, ALERT_SLACK_WEBHOOK_URL: slack.url,
    });
    rulesDir = await mkdtemp(join(tmpdir(), 'hubspoke-alert-rules-'));
    await writeFile(join(rulesDir, 'rules.yml'), stringify(RULES));
    prometheus = await startPrometheus(stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: [join(rulesDir, 'rules.yml')],
      alerting: { alertmanagers: [{ static_configs: [{ targets: [new URL(alertmanager.url).host] }] }] },
    // Prometheus learns of Alertmanager up to 5 s after its start and drops what fired before: send every second.
    }), ['--rules.alert.resend-delay=1s']);
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    await alertmanager?.stop();
    await Promise.all([smtp?.close(), webhook?.close(), slack?.close()]);
    if (rulesDir) await rm(rulesDir, { recursive: true, force: true });
  });

  const within = <T>(promise: Promise<T>, what: string) => Promise.race([
    promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} did not arrive within ${DELIVERY_MS} ms`)), DELIVERY_MS)),
  ]);

  test('when a rule fires, then an email reaches the configured address through SMTP, naming the alert and its summary', async () => {
    await within(smtp.waitForCount(1), 'the email');
    const [mail] = smtp.messages;
    expect(mail).toMatchObject({ from: 'alerts@example.com', to: ['on-call@example.com'] });
    expect(mail!.subject).toMatch(/^\[FIRING:1\] AlertPathCheck/);
    expect(quotedPrintable(mail!.raw)).toContain('user answers 5xx to 12% of requests');
  }, 30_000);

  test('when a rule fires and ALERT_WEBHOOK_URL is set, then the webhook receives Alertmanager\'s JSON with the alert and a link back', async () => {
    await within(webhook.waitForCalls(1), 'the webhook call');
    const body = JSON.parse(webhook.calls[0]!.body) as { version: string; status: string; receiver: string; externalURL: string; alerts: { labels: Record<string, string> }[] };
    expect(body).toMatchObject({ version: '4', status: 'firing', receiver: 'operators', externalURL: expect.stringMatching(/^http/) });
    expect(body.alerts.map((a) => a.labels)).toEqual([expect.objectContaining({ alertname: 'AlertPathCheck', service: 'user', severity: 'warning' })]);
  }, 30_000);

  test('when a rule fires and ALERT_SLACK_WEBHOOK_URL is set, then the Slack webhook receives a message titled with the status, alert and service', async () => {
    await within(slack.waitForCalls(1), 'the Slack message');
    const body = JSON.parse(slack.calls[0]!.body) as { attachments: { title: string; text: string }[] };
    expect(body.attachments[0]).toMatchObject({ title: 'FIRING: AlertPathCheck (user)', text: expect.stringContaining('user answers 5xx to 12% of requests') });
  }, 30_000);
});
