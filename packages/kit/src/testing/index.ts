export * from './env.js';
export * from './database.js';
export * from './fault-proxy.js';
export * from './private-redis.js';
export * from './log-capture.js';
export * from './tokens.js';
export * from './process.js';
export * from './amqp.js';
