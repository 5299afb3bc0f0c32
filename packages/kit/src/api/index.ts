export * from './route-definition.js';
export * from './api-routes.js';
export * from './openapi-document.js';
export { ErrorDetail } from './error-responses.js';
export * from './page-cursor.js';
export * from './page-query.js';
