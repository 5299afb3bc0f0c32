import { describe, expect, test } from 'vitest';
import { spokeNames } from '../spoke-names.js';

describe('spoke names', () => {
  test('when the name has hyphens, then each place gets the spelling it allows', () => {
    expect(spokeNames('order-history', 'orders', 3003)).toEqual({
      name: 'order-history', camel: 'orderHistory', Pascal: 'OrderHistory', CONST: 'ORDER_HISTORY', snake: 'order_history',
      prefix: 'orders', port: 3003, dir: 'spokes/order-history-service', composeService: 'spoke-order-history', passwordVariable: 'ORDER_HISTORY_DB_PASSWORD',
      registryKeyVariable: 'ORDER_HISTORY_REGISTRY_KEY',
    });
  });

  test.each([
    ['Billing', /is not a spoke name/],
    ['9lives', /is not a spoke name/],
    ['double--hyphen', /is not a spoke name/],
    ['trailing-', /is not a spoke name/],
    ['a'.repeat(31), /longer than 30/],
    ['billing-service', /leave out "-service"/],
    ['users', /is reserved/],
    ['postgres', /is reserved/],
  ])('when the name is %s, then it is refused saying why', (name, reason) => {
    expect(() => spokeNames(name, 'ok', 3003)).toThrow(reason);
  });

  test.each([['Upper', /is not a route prefix/], ['with/slash', /is not a route prefix/], ['hub', /the hub's own/]])(
    'when the prefix is %s, then it is refused saying why', (prefix, reason) => {
      expect(() => spokeNames('billing', prefix, 3003)).toThrow(reason);
    });
});
