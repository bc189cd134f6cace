import pino from 'pino';

/** pino, created once here and handed down as child loggers (DESIGN.md convention 7). Secrets are redacted by path as a second line of defence. */
export function createLogger(level: string): pino.Logger {
  return pino({
    level,
    base: { service: 'dakkio' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        'password',
        '*.password',
        'secret',
        '*.secret',
        'token',
        '*.token',
        'refreshToken',
        '*.refreshToken',
        'req.headers.authorization',
        'req.headers["x-api-key"]',
      ],
      censor: '[redacted]',
    },
  });
}
