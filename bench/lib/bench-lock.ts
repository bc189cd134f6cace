/**
 * A shared machine's bench lock taken by the bench itself, around each of its timed parts, instead of
 * around the whole command (`flock LOCK npm run ...`).
 *
 * Why: bench:qos0-storm's five 60 s cycles take ~16 min with their drains and the quiet-time release
 * each waits for, longer than one hold of a lock shared with other engineers may last. Its broker
 * process has to live through all five (RSS at rest after each, against one start), so the run cannot
 * be split into several commands; it takes the lock for the start reading and for each cycle (flood,
 * drain, release, reading) and lets others run in between, while its broker sits idle at rest.
 *
 * How: `flock LOCK sh -c 'echo locked; read x'` holds the lock from the line until its stdin closes.
 */
import { spawn } from 'node:child_process';

/** Waits for the lock; resolves to its release. */
export async function takeLock(path: string): Promise<() => Promise<void>> {
  const child = spawn('flock', [path, 'sh', '-c', 'echo locked; read x'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (String(d).includes('locked')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`flock ${path} exited with ${code} before taking the lock`)));
  });
  return async () => {
    child.stdin.end();
    await exited;
  };
}

/** Runs `fn` holding the lock at `path`, or without a lock when `path` is empty. */
export async function withLock<T>(path: string | undefined, fn: () => Promise<T>): Promise<T> {
  if (!path) return fn();
  const release = await takeLock(path);
  try {
    return await fn();
  } finally {
    await release();
  }
}
