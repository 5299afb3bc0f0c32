import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger } from '@hubspoke/kit';
import { loadConfig } from '../src/config.js';
import { createProviders } from '../src/domain/providers/providers.js';
import { ProviderError } from '../src/domain/providers/provider.js';
import { webhookProvider } from '../src/domain/providers/webhook-provider.js';
import { startWebhookReceiver } from './support/webhook-receiver.js';
import { testRegistryKey } from '@hubspoke/kit/testing';

const logger = createLogger({ service: 'notification', level: 'silent' });
const message = { notificationId: '6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f', channel: 'sms' as const, to: '+15550003333', subject: 's', text: 't', html: 'h' };
const configWith = (env: Record<string, string>) => loadConfig({
  DATABASE_URL: 'postgres://unused@127.0.0.1:9/x', AMQP_URL: 'amqp://127.0.0.1:9', REDIS_URL: 'redis://127.0.0.1:9', REGISTRY_KEY: testRegistryKey('notification'),
  AUTH_JWKS_URL: 'http://127.0.0.1:9/jwks', SMS_PROVIDER: 'webhook', SMS_WEBHOOK_SECRET: 'sms-webhook-secret-0123456789', ...env,
});

let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
beforeAll(async () => {
  receiver = await startWebhookReceiver([200]);
});
afterAll(() => receiver.close());

describe('webhook targets (SSRF)', () => {
  test.each([
    ['loopback', 'http://127.0.0.1:8080/hook'],
    ['the cloud metadata address', 'http://169.254.169.254/latest/meta-data/'],
    ['a private network', 'http://10.0.0.5/hook'],
    ['link-local IPv6', 'http://[fe80::1]/hook'],
    ['a name that resolves to loopback', 'http://localhost:8080/hook'],
  ])('when the SMS webhook URL is %s, then the spoke refuses to start with it', async (_what, url) => {
    await expect(createProviders(configWith({ SMS_WEBHOOK_URL: url }), logger)).rejects.toMatchObject({ code: 'OUTBOUND.ADDRESS_REFUSED' });
  });

  test('when the target is allowed at start but the name resolves to a refused address when sending, then the send fails for good and nothing is reached', async () => {
    // Allowed when configured (the operator listed 127.0.0.1), then the policy the provider connects with refuses it: the check runs per connection.
    const provider = webhookProvider({ url: receiver.url.replace('127.0.0.1', 'localhost'), secret: 'sms-webhook-secret-0123456789', timeoutMs: 1000, policy: {} });
    const error = await provider.send(message).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ kind: 'permanent', message: expect.stringMatching(/loopback/) });
    expect(receiver.calls).toHaveLength(0);
  });

  test('when the network is explicitly allowed, then the webhook is called', async () => {
    const providers = await createProviders(configWith({ SMS_WEBHOOK_URL: receiver.url, WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32' }), logger);
    await expect(providers.sms.send(message)).resolves.toEqual({ answer: 'HTTP 200: accepted' });
    expect(receiver.calls).toHaveLength(1);
    await providers.email.close?.();
  });
});
