import { envReader, readAmqpEnv, readInstanceEnv, readPostgresEnv, readTokenEnv, type EnvReader } from '@hubspoke/kit';
import { CHANNELS, type Channel } from './domain/channel.js';

/** Every variable the notification spoke reads; nothing else in the service knows their names. */
export function loadConfig(env: NodeJS.ProcessEnv) {
  const read = envReader(env);
  const config = {
    ...readInstanceEnv(read, { port: 3003 }),
    ...readPostgresEnv(read),
    ...readAmqpEnv(read),
    ...readTokenEnv(read),
    smtp: readSmtp(read),
    sms: readWebhookChannel(read, 'SMS'),
    push: readWebhookChannel(read, 'PUSH'),
    webhook: {
      timeoutMs: read.durationMs('WEBHOOK_TIMEOUT_MS', 5000),
      // Private, loopback and metadata addresses are refused unless listed here (CIDRs).
      allowedNetworks: read.list('WEBHOOK_ALLOWED_NETWORKS', []),
    },
    /** Provider calls per second and channel, one bucket per instance; the burst is one second's worth. */
    rates: Object.fromEntries(CHANNELS.map((channel) => [channel, read.int(`${channel.toUpperCase()}_SENDS_PER_SECOND`, DEFAULT_RATES[channel], { min: 1 })])) as Record<Channel, number>,
    send: {
      maxAttempts: read.int('SEND_MAX_ATTEMPTS', 5, { min: 1, max: 50 }),
      retryBaseMs: read.durationMs('SEND_RETRY_BASE_MS', 2000),
      retryMaxMs: read.durationMs('SEND_RETRY_MAX_MS', 600_000),
      concurrency: read.int('SEND_CONCURRENCY', 4, { min: 1, max: 64 }),
      pollIntervalMs: read.durationMs('SEND_POLL_INTERVAL_MS', 1000),
      leaseMs: read.durationMs('SEND_LEASE_MS', 120_000),
    },
  };
  // A lease shorter than a provider call would reconcile a send that is still under way.
  const longestCallMs = Math.max(config.webhook.timeoutMs, 2 * config.smtp.connectionTimeoutMs + config.smtp.socketTimeoutMs);
  if (config.send.leaseMs <= longestCallMs) read.problem(`SEND_LEASE_MS must be longer than the longest provider call (${longestCallMs} ms)`);
  read.assertValid('notification');
  return Object.freeze(config);
}

const DEFAULT_RATES: Record<Channel, number> = { email: 20, sms: 5, push: 50 };

function readSmtp(read: EnvReader) {
  const user = read.optionalString('SMTP_USER');
  return {
    host: read.string('SMTP_HOST', 'localhost'),
    port: read.port('SMTP_PORT', 587),
    /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
    secure: read.bool('SMTP_SECURE', false),
    /** Refuse to send unless STARTTLS succeeds. */
    requireTls: read.bool('SMTP_REQUIRE_TLS', false),
    rejectUnauthorized: read.bool('SMTP_TLS_REJECT_UNAUTHORIZED', true),
    auth: user === undefined ? undefined : { user, pass: read.secret('SMTP_PASSWORD', { minLength: 1 }) },
    from: read.string('MAIL_FROM', 'hubspoke <no-reply@hubspoke.local>'),
    maxConnections: read.int('SMTP_MAX_CONNECTIONS', 5, { min: 1, max: 100 }),
    connectionTimeoutMs: read.durationMs('SMTP_CONNECTION_TIMEOUT_MS', 5000),
    socketTimeoutMs: read.durationMs('SMTP_SOCKET_TIMEOUT_MS', 20_000),
  };
}

function readWebhookChannel(read: EnvReader, channel: 'SMS' | 'PUSH') {
  const provider = read.oneOf(`${channel}_PROVIDER`, ['log', 'webhook'], 'log');
  if (provider === 'log') return { provider } as const;
  return { provider, url: read.url(`${channel}_WEBHOOK_URL`), secret: read.secret(`${channel}_WEBHOOK_SECRET`) } as const;
}

export type NotificationConfig = ReturnType<typeof loadConfig>;
export type WebhookChannelConfig = NotificationConfig['sms'];
