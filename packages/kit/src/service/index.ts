export * from './service-env.js';
export * from './serve-and-register.js';
export * from './readiness.js';
export * from './service-app.js';
export * from './start-service.js';
