import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import { z } from 'zod';
import * as schemas from '../../core/auth/schemas.ts';
import { DakkioError } from '../../core/errors.ts';
import type { HttpDeps } from '../deps.ts';
import type { HttpEnv } from '../http-env.ts';
import { SESSION_COOKIE } from '../middleware/session-auth.ts';
import { addRoute, type RouteMiddlewares, userOf } from '../route.ts';

/** `session: "cookie"` asks for the dashboard's HTTP-only cookie instead of tokens in the body (API.md). */
const loginBody = schemas.loginSchema.extend({
  session: z.enum(['cookie', 'token']).optional(),
});

export function registerAuthRoutes(app: OpenAPIHono<HttpEnv>, mw: RouteMiddlewares, deps: HttpDeps): void {
  const tag = 'auth';
  addRoute(
    app,
    mw,
    {
      method: 'post',
      path: '/api/auth/register',
      tag,
      summary: 'Create an account',
      auth: 'none',
      body: schemas.registerSchema,
      success: { status: 201 },
    },
    async ({ body, c }) => {
      if (!deps.allowSignup) throw new DakkioError('forbidden', 'sign-up is disabled on this server');
      return deps.users.register(body, { ip: c.get('clientIp') });
    },
  );

  addRoute(
    app,
    mw,
    {
      method: 'post',
      path: '/api/auth/login',
      tag,
      summary: 'Log in (tokens, or a session cookie with session: "cookie")',
      auth: 'none',
      body: loginBody,
      success: { status: 200 },
    },
    async ({ body, c }) => {
      const { session, ...credentials } = body;
      const result = await deps.users.login(credentials, {
        ip: c.get('clientIp'),
      });
      if (session !== 'cookie') return result;
      setSessionCookie(c, result.token, result.expiresAt);
      return { user: result.user, expiresAt: result.expiresAt };
    },
  );

  addRoute(
    app,
    mw,
    {
      method: 'post',
      path: '/api/auth/refresh',
      tag,
      summary: 'Trade a refresh token for new tokens (single use)',
      auth: 'none',
      body: schemas.refreshSchema,
      success: { status: 200 },
    },
    async ({ body }) => deps.users.refresh(body.refreshToken),
  );

  addRoute(
    app,
    mw,
    {
      method: 'post',
      path: '/api/auth/logout',
      tag,
      summary: 'End this session (access token and refresh family)',
      auth: 'jwt',
      success: { status: 204 },
    },
    async ({ c }) => {
      await deps.users.logout(userOf(c));
      if (c.get('viaCookie')) deleteCookie(c, SESSION_COOKIE, { path: '/', secure: true });
      return undefined;
    },
  );

  addRoute(
    app,
    mw,
    {
      method: 'get',
      path: '/api/auth/me',
      tag,
      summary: 'The current user',
      auth: 'jwt',
      success: { status: 200 },
    },
    async ({ c }) => ({ user: await deps.users.getMe(userOf(c).userId) }),
  );

  addRoute(
    app,
    mw,
    {
      method: 'patch',
      path: '/api/auth/me',
      tag,
      summary: 'Change name, email or password',
      auth: 'jwt',
      body: schemas.updateMeSchema,
      success: { status: 200 },
    },
    async ({ body, c }) => ({
      user: await deps.users.updateMe(userOf(c), body as never),
    }),
  );

  addRoute(
    app,
    mw,
    {
      method: 'delete',
      path: '/api/auth/me',
      tag,
      summary: 'Delete the account and everything it owns',
      auth: 'jwt',
      body: schemas.deleteMeSchema,
      success: { status: 204 },
    },
    async ({ body, c }) => {
      await deps.users.deleteMe(userOf(c), body.password);
      if (c.get('viaCookie')) deleteCookie(c, SESSION_COOKIE, { path: '/', secure: true });
      return undefined;
    },
  );
}

function setSessionCookie(c: Context, token: string, expiresAt: number): void {
  // __Host- cookies must be Secure, Path=/ and carry no Domain; browsers treat http://localhost as secure.
  setCookie(c, SESSION_COOKIE, token, {
    path: '/',
    httpOnly: true,
    secure: true,
    sameSite: 'Lax',
    expires: new Date(expiresAt),
  });
}
