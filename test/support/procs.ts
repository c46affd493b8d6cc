import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../src/core/wait.js';
export { waitFor };

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const CLI = resolve(ROOT, 'bin/papertape.js');

export interface Proc {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs the real `papertape` command (the built CLI) as a child process. */
export function papertape(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    // the tests poll the API far faster than a person: no per-address rate limit unless a test sets one;
    // and no ML gate (MODEL_PATH defaults to the shipped gbdt-xgb) unless a test sets MODEL_PATH
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', API_RATE_LIMIT: '0', MODEL_PATH: '', ...env },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}


export async function getJson<T = any>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as T };
}

/** The port a child printed in "serve-replay listening on http://127.0.0.1:PORT". */
export async function listeningPort(p: Proc): Promise<number> {
  return waitFor('serve-replay to listen', () => {
    const m = /listening on http:\/\/[^:]+:(\d+)/.exec(p.stdout() + p.stderr());
    return m ? Number(m[1]) : undefined;
  });
}

export interface LogLine {
  time: number;
  msg: string;
  venue?: string;
  symbol?: string;
  [key: string]: unknown;
}

/** The JSON (pino) log lines a child printed on stdout so far (complete lines only). */
export function logLines(p: Proc): LogLine[] {
  return p
    .stdout()
    .split('\n')
    .slice(0, -1)
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}
