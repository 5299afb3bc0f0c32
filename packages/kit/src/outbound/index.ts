export * from './outbound-address.js';
export * from './hmac-signature.js';
