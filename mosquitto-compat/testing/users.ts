import type { TestEnv } from '../../core/auth/testing/fixture.ts';

/** Test support: a user row to own credentials, mappings and upstreams (foreign keys). */
export async function insertUser(env: TestEnv, email: string): Promise<string> {
  const id = env.ids();
  await env.db
    .insertInto('users')
    .values({ id, email, name: null, password_hash: 'x', created_at: env.clock.now(), sessions_valid_after: 0 })
    .execute();
  return id;
}
