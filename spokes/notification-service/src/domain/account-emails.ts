import type { SendAccountEmailV1Payload } from '@hubspoke/contracts';

/**
 * Templates only the auth spoke's command may send (`notification.send_account_email`): the API and hub
 * jobs get "unknown template" for them, so nobody can dress a message of their own as an account email.
 */
export const ACCOUNT_TEMPLATES: ReadonlySet<string> = new Set<SendAccountEmailV1Payload['template']>(['verify-email', 'password-reset', 'password-changed']);

/** The template's values from the command: the link (a secret) only for the templates that show one. */
export function accountEmailData(command: SendAccountEmailV1Payload): Record<string, string | number> {
  const base = { name: command.name };
  return command.template === 'password-changed' ? base : { ...base, link: command.link, expiresInMinutes: command.expiresInMinutes };
}
