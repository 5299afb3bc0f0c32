export * from './service-env.js';
export * from './registration.js';
export * from './starting-app.js';
export * from './readiness.js';
export * from './service-app.js';
export * from './start-service.js';
