/**
 * What the template's example resource publishes and reads, for the shared files that list events; its
 * contract itself is rendered from contract-template/ into packages/contracts/src/events/.
 */

/** A valid `<name>.item_created` v1 payload: the contracts test builds and parses every contract with one. */
export const ITEM_CREATED_SAMPLE = "{ itemId: '6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f', ownerId: '0b6f2c1e-8d4a-4c55-9d7e-2f1a3b4c5d6e', title: 'First' }";

/** What src/consumers/ binds to: docs/events.md lists the new spoke among their consumers. */
export const CONSUMED_EVENTS = ['user.deleted.v1'];
