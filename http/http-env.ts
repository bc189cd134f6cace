import type { ApiKeyPrincipal, UserPrincipal } from '../core/auth/principal.ts';

/** Per-request variables set by the auth middlewares. */
export interface HttpEnv {
  Variables: {
    user?: UserPrincipal;
    apiKey?: ApiKeyPrincipal;
    /** true when the user was authenticated by the session cookie (CSRF rules apply) */
    viaCookie?: boolean;
    clientIp: string;
  };
}
