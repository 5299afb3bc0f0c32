export * from './protocol.js';
export * from './task-errors.js';
export * from './declaration.js';
export * from './serve-tasks.js';
export * from './dispatch.js';
