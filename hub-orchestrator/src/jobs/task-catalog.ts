import type { RegistryReader, TaskDeclaration } from '@hubspoke/kit';

export interface TaskCatalog {
  /** The declaration of a task type some ready spoke instance serves, or undefined. */
  find: (type: string) => TaskDeclaration | undefined;
}

/**
 * The task types live spokes declare in their registry records. When instances disagree (a rolling
 * upgrade), the stricter rule wins: admins only if any instance says so; the schema of the instance
 * first by service and id, the same on every replica.
 */
export function taskCatalog(registry: Pick<RegistryReader, 'instances'>): TaskCatalog {
  return {
    find(type) {
      const declarations = registry.instances()
        .filter((record) => record.status === 'ready')
        .sort((a, b) => a.service.localeCompare(b.service) || a.instanceId.localeCompare(b.instanceId))
        .flatMap((record) => record.tasks.filter((task) => task.type === type));
      const [first] = declarations;
      if (!first) return undefined;
      return { ...first, allowed: declarations.some((d) => d.allowed === 'admins') ? 'admins' : 'users' };
    },
  };
}
