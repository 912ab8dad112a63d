// Starts talk2tables-server (the embedded default) on a free loopback port for a test.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Path of the server binary: $T2T_SERVER_BIN or target/debug/talk2tables-server. */
export function serverBin() {
  const bin = process.env.T2T_SERVER_BIN || path.join(ROOT, 'target/debug/talk2tables-server');
  if (!existsSync(bin)) throw new Error(`${bin} not built: run cargo build -p talk2tables-server`);
  return bin;
}

/** Starts the server with a temp --data-dir; resolves {url, stop()} once it listens (60 s limit). */
export function startServer() {
  const dataDir = mkdtempSync(path.join(tmpdir(), 't2t-web-'));
  const env = { ...process.env, LLM_PROVIDER: 'offline' };
  delete env.MCP_CONFIG_PATH;
  delete env.MCP_SERVER_URL;
  const child = spawn(serverBin(), ['--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stop = () => {
    child.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  };
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`server did not start within 60 s:\n${log}`));
    }, 60000);
    child.stderr.on('data', (chunk) => {
      log += chunk;
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], stop });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${log}`));
    });
  });
}
