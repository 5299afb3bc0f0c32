import type { CommandContract } from '@hubspoke/kit';
import { SendAccountEmailV1 } from './send-account-email.js';

export * from './send-account-email.js';

/** Every command type and version (docs/events.md, "Commands"): addressed to one service on the `tasks` exchange. */
export const COMMAND_CONTRACTS: readonly CommandContract[] = [SendAccountEmailV1];
