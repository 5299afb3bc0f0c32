import { assertOutboundUrl, type Logger } from '@hubspoke/kit';
import type { NotificationConfig, WebhookChannelConfig } from '../../config.js';
import type { Channel } from '../channel.js';
import { logProvider } from './log-provider.js';
import type { Provider } from './provider.js';
import { smtpProvider } from './smtp-provider.js';
import { webhookProvider } from './webhook-provider.js';

/**
 * One provider per channel, as configured. A webhook URL that names or resolves to a refused address
 * stops the start: better than every SMS failing later.
 */
export async function createProviders(config: NotificationConfig, logger: Logger): Promise<Record<Channel, Provider>> {
  const policy = { allowedNetworks: config.webhook.allowedNetworks };
  const forChannel = async (channel: WebhookChannelConfig): Promise<Provider> => {
    if (channel.provider === 'log') return logProvider(logger);
    await assertOutboundUrl(channel.url, policy);
    return webhookProvider({ url: channel.url, secret: channel.secret, timeoutMs: config.webhook.timeoutMs, policy });
  };
  return { email: smtpProvider(config.smtp), sms: await forChannel(config.sms), push: await forChannel(config.push) };
}
