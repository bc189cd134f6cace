import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, settingsHelp } from './config.ts';

describe('DAKKIO_SQLITE_SYNCHRONOUS', () => {
  it('is normal by default and accepts normal and full', () => {
    expect(loadConfig({}).sqliteSynchronous).toBe('normal');
    expect(loadConfig({ DAKKIO_SQLITE_SYNCHRONOUS: '' }).sqliteSynchronous).toBe('normal');
    expect(loadConfig({ DAKKIO_SQLITE_SYNCHRONOUS: 'normal' }).sqliteSynchronous).toBe('normal');
    expect(loadConfig({ DAKKIO_SQLITE_SYNCHRONOUS: 'full' }).sqliteSynchronous).toBe('full');
  });

  it.each(['off', 'extra', 'FULL', '2'])('refuses %j with a config error naming the setting and its values', (raw) => {
    const attempt = () => loadConfig({ DAKKIO_SQLITE_SYNCHRONOUS: raw });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/^DAKKIO_SQLITE_SYNCHRONOUS: invalid value .*"normal"\|"full"/);
  });

  it('is listed in --help with its default', () => {
    expect(settingsHelp()).toMatch(/DAKKIO_SQLITE_SYNCHRONOUS .*power cut.*\(default normal\)/);
  });
});
