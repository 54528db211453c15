// The lean load client, in its own process: raw `tls.connect` (or `net.connect` for etcd's plain
// HTTP gateway) keep-alive sockets, hand-written HTTP/1.1 requests and a minimal response
// parser. Each connection is one client with one request in flight: a lock client must see its
// acquire answered before it releases. Spec in the JSON file named by BENCH_LOAD; the result
// goes back over IPC. Node's https.Agent tops out near 17k req/s on its own, this does not.
import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export interface LoadSpec {
  host: string;
  port: number;
  /** absent: plain HTTP */
  tls?: { ca: string; clients: { certPem: string; keyPem: string }[] };
  /** per client: the raw requests it sends in turn, one at a time, over and over */
  requests: string[][];
  warmupMs: number;
  measureMs: number;
  /** a response is ok only if its status is 200 and, when set, its body contains this */
  expectBody?: string;
  /**
   * every request on a new connection, as a `curl` per request makes it (no keep-alive); the
   * latency then includes the handshake. `resume`: offer the TLS session of the previous
   * connection (a long-lived client that keeps it; a fresh `curl` process cannot)
   */
  newConnections?: { resume: boolean };
}

export interface LoadResult {
  type: 'result';
  clients: number;
  seconds: number;
  ok: number;
  errors: number;
  statuses: Record<string, number>;
  socketErrors: number;
  reconnects: number;
  handshakes: number;
  resumed: number;
  p50Ms: number;
  p99Ms: number;
  clientCpuPercent: number;
  firstError?: string;
}

const HEADER_END = Buffer.from('\r\n\r\n');

interface Window {
  measuring: boolean;
  stopping: boolean;
  ok: number;
  errors: number;
  statuses: Record<string, number>;
  latencies: number[];
  socketErrors: number;
  reconnects: number;
  /** new-connection mode: handshakes in the window, and how many of them resumed a session */
  handshakes: number;
  resumed: number;
  firstError?: string;
}

class Client {
  private socket!: Socket;
  private session: Buffer | undefined;
  private pending: Buffer | null = null;
  private need = -1;
  private status = 0;
  private next = 0;
  private sentAt = 0;
  private inFlight = false;
  private up = false;
  private readonly requests: Buffer[];

  constructor(
    private readonly spec: LoadSpec,
    private readonly index: number,
    private readonly w: Window,
  ) {
    this.requests = spec.requests[index]!.map((r) => Buffer.from(r, 'latin1'));
  }

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const { host, port, tls } = this.spec;
      this.up = false;
      const onUp = () => {
        this.up = true;
        this.socket.off('error', reject);
        resolve();
      };
      if (tls) {
        const cred = tls.clients[this.index % tls.clients.length]!;
        const s: TLSSocket = tlsConnect(
          { host, port, ca: tls.ca, cert: cred.certPem, key: cred.keyPem, session: this.session },
          onUp,
        );
        // keep the TLS session (ticket) so that a reconnect resumes instead of a full handshake
        s.on('session', (session: Buffer) => (this.session = session));
        this.socket = s;
      } else {
        this.socket = netConnect({ host, port }, onUp);
      }
      const socket = this.socket;
      socket.setNoDelay(true);
      socket.once('error', reject);
      socket.on('data', (chunk: Buffer) => this.onData(chunk));
      // a connection closed on purpose (new-connection mode) may report it after its successor is up
      socket.on('close', () => socket === this.socket && this.onClose());
      this.socket.on('error', (err) => this.fail(`socket: ${err.message}`));
    });
  }

  send(): void {
    if (this.w.stopping) return;
    const req = this.requests[this.next++ % this.requests.length]!;
    this.inFlight = true;
    this.sentAt = performance.now();
    this.socket.write(req);
  }

  /** new-connection mode: close this connection, open the next (resuming if asked), send */
  private cycle(): void {
    if (this.w.stopping) return;
    this.up = false; // a deliberate close, not a drop: onClose leaves it alone
    this.socket.destroy();
    if (!this.spec.newConnections?.resume) this.session = undefined;
    const started = performance.now();
    this.connect().then(
      () => {
        if (this.w.measuring) this.w.handshakes++;
        if (this.w.measuring && (this.socket as TLSSocket).isSessionReused?.()) this.w.resumed++;
        this.send();
        this.sentAt = started; // what a user sees: handshake and request together
      },
      (err: Error) => {
        if (this.w.measuring) this.w.errors++;
        this.fail(`connect: ${err.message}`);
        setTimeout(() => this.cycle(), 10);
      },
    );
  }

  close(): void {
    this.socket.destroy();
  }

  private fail(message: string): void {
    this.w.socketErrors++;
    this.w.firstError ??= message;
  }

  private onClose(): void {
    // a socket that never came up was already reported by connect()'s rejection
    if (this.w.stopping || !this.up) return;
    if (this.inFlight && this.w.measuring) this.w.errors++;
    this.inFlight = false;
    this.pending = null;
    this.need = -1;
    this.w.reconnects++;
    this.connect().then(
      () => this.send(),
      (err: Error) => this.fail(`reconnect: ${err.message}`),
    );
  }

  private onData(chunk: Buffer): void {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    let off = 0;
    for (;;) {
      if (this.need < 0) {
        const end = buf.indexOf(HEADER_END, off);
        if (end < 0) break;
        const head = buf.toString('latin1', off, end);
        this.status = Number(head.slice(9, 12));
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        if (!length && /\r\ntransfer-encoding:\s*chunked/i.test(head)) {
          this.fail('chunked responses are not supported by the bench client');
          this.socket.destroy();
          return;
        }
        this.need = length ? Number(length[1]) : 0;
        off = end + HEADER_END.length;
      }
      if (buf.length - off < this.need) break;
      const body = this.spec.expectBody ? buf.toString('utf8', off, off + this.need) : '';
      off += this.need;
      this.need = -1;
      this.complete(body);
    }
    this.pending = off < buf.length ? buf.subarray(off) : null;
  }

  private complete(body: string): void {
    this.inFlight = false;
    const w = this.w;
    if (w.measuring) {
      w.latencies.push(performance.now() - this.sentAt);
      const good = this.status === 200 && (!this.spec.expectBody || body.includes(this.spec.expectBody));
      const key = good || this.status !== 200 ? String(this.status) : '200-unexpected-body';
      w.statuses[key] = (w.statuses[key] ?? 0) + 1;
      if (good) w.ok++;
      else {
        w.errors++;
        w.firstError ??= `HTTP ${this.status}: ${body.slice(0, 200)}`;
      }
    }
    if (this.spec.newConnections) this.cycle();
    else this.send();
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function run(spec: LoadSpec): Promise<LoadResult> {
  const w: Window = {
    measuring: false,
    stopping: false,
    ok: 0,
    errors: 0,
    statuses: {},
    latencies: [],
    socketErrors: 0,
    reconnects: 0,
    handshakes: 0,
    resumed: 0,
  };
  const clients = spec.requests.map((_, i) => new Client(spec, i, w));
  // all handshakes first, so the measured window holds none of them
  await Promise.all(clients.map((c) => c.connect()));
  for (const c of clients) c.send();
  await sleep(spec.warmupMs);

  process.send?.({ type: 'mark', phase: 'start' });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  w.measuring = true;
  await sleep(spec.measureMs);
  w.measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  process.send?.({ type: 'mark', phase: 'end' });

  w.stopping = true;
  for (const c of clients) c.close();
  const sorted = w.latencies.sort((a, b) => a - b);
  return {
    type: 'result',
    clients: clients.length,
    seconds,
    ok: w.ok,
    errors: w.errors,
    statuses: w.statuses,
    socketErrors: w.socketErrors,
    reconnects: w.reconnects,
    handshakes: w.handshakes,
    resumed: w.resumed,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    clientCpuPercent: ((cpu.user + cpu.system) / 1e6 / seconds) * 100,
    firstError: w.firstError,
  };
}

const specFile = process.env.BENCH_LOAD;
if (specFile) {
  const spec = JSON.parse(readFileSync(specFile, 'utf8')) as LoadSpec;
  run(spec).then(
    (result) => process.send?.(result, () => process.exit(0)),
    (err: Error) => {
      process.send?.({ type: 'failed', message: err.message }, () => process.exit(1));
    },
  );
}
