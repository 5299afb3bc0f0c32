export * from './events/index.js';
export * from './commands/index.js';
