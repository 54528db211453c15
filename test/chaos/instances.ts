// keyholder server processes under the harness: started from the built CLI, restarted after a
// kill, and watched — an exit the harness did not cause is a violation.
import { serverEnv, startServerProcess, type ServerProcess } from '../support/process.js';
import type { RunPki } from './pki.js';

export const ADMIN: [string, string] = ['admin', 'chaos-admin-password'];

export class Instance {
  private current?: ServerProcess;
  private expectingExit = false;
  /** everything every incarnation printed, for counting log lines per fault episode */
  private earlierOutput = '';

  constructor(
    readonly name: string,
    private readonly env: Record<string, string>,
    private readonly onUnexpectedExit: (instance: Instance, detail: string) => void,
  ) {}

  static forDatabase(
    name: string,
    db: { url?: string; dataDir: string },
    pki: RunPki,
    extraEnv: Record<string, string>,
    onUnexpectedExit: (instance: Instance, detail: string) => void,
  ): Instance {
    return new Instance(name, { ...serverEnv(db, pki, ADMIN[1]), ...extraEnv }, onUnexpectedExit);
  }

  get url(): string {
    if (!this.current) throw new Error(`${this.name} is not running`);
    return this.current.url;
  }

  get running(): boolean {
    return this.current !== undefined;
  }

  get pid(): number | undefined {
    return this.current?.proc.pid;
  }

  output(): string {
    return this.earlierOutput + (this.current?.output() ?? '');
  }

  async start(): Promise<void> {
    const proc = await startServerProcess(this.env);
    this.current = proc;
    this.expectingExit = false;
    proc.proc.once('exit', (code, signal) => {
      this.earlierOutput += proc.output();
      if (this.current === proc) this.current = undefined;
      if (!this.expectingExit) {
        this.onUnexpectedExit(
          this,
          `exit code ${code}, signal ${signal}; last output:\n${proc.output().slice(-3000)}`,
        );
      }
    });
  }

  async kill9(): Promise<void> {
    if (!this.current) return;
    this.expectingExit = true;
    await this.current.kill9();
  }

  /** SIGTERM; resolves with how long the exit took, or undefined if it had to be killed */
  async terminate(boundMs: number): Promise<number | undefined> {
    const proc = this.current;
    if (!proc) return 0;
    this.expectingExit = true;
    const started = Date.now();
    const stopped = proc.stop().then(() => Date.now() - started);
    const timer = new Promise<undefined>((r) => setTimeout(() => r(undefined), boundMs));
    const took = await Promise.race([stopped, timer]);
    if (took === undefined) await proc.kill9();
    return took;
  }
}
