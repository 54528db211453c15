// Connection limits of the HTTPS server, so that idle or slow clients cannot hold resources
// forever and a shutdown always ends (SPEC §8 "Connections"):
// - the TLS handshake and the first request must arrive within the request timeout;
// - a request (headers and body) must arrive within the request timeout — node measures only
//   the receiving, so a handler that waits (`?wait=300`) is not cut;
// - between requests a keep-alive connection may idle for the keep-alive timeout;
// - a connection older than the maximum age is closed after its current response (or at once
//   when idle), so what was decided at its handshake (a certificate since revoked) expires;
// - the number of connections is capped;
// - on shutdown idle connections close at once, the rest after the grace period.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Config } from '../config/schema.js';

export type ConnectionLimits = Config['http'];

const TRACKED = Symbol('keyholder.connection');
type TrackedResponse = ServerResponse & { [TRACKED]?: Tracked };

interface Tracked {
  socket: TLSSocket;
  /** responses not yet finished on this connection */
  inFlight: Set<ServerResponse>;
  /** past its age (or its certificate's validity is in doubt): close after the current response */
  expired: boolean;
  /** sent at least one request */
  used: boolean;
  timers: NodeJS.Timeout[];
}

/** Options that only take effect when the server is created (https.createServer). */
export function serverCreationOptions(limits: ConnectionLimits) {
  const requestMs = limits.requestTimeoutSeconds * 1000;
  return {
    // TLS: a client that never finishes its handshake is dropped after this long
    handshakeTimeout: requestMs,
    // how often node looks for requests past their timeout (default 30 s: too coarse)
    connectionsCheckingInterval: Math.min(5000, Math.max(100, Math.floor(requestMs / 4))),
  };
}

export class ConnectionGuard {
  private readonly raw = new Set<Socket>();
  private readonly tracked = new Map<TLSSocket, Tracked>();
  private shuttingDown = false;

  constructor(
    private readonly server: HttpsServer,
    private readonly limits: ConnectionLimits,
  ) {
    const requestMs = limits.requestTimeoutSeconds * 1000;
    server.requestTimeout = requestMs;
    server.headersTimeout = requestMs;
    server.keepAliveTimeout = limits.keepAliveTimeoutSeconds * 1000;
    server.maxConnections = limits.maxConnections;
    server.on('connection', (socket: Socket) => this.onRawConnection(socket));
    server.on('secureConnection', (socket: TLSSocket) => this.onSecureConnection(socket));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res));
  }

  private onRawConnection(socket: Socket): void {
    if (this.shuttingDown) {
      socket.destroy();
      return;
    }
    this.raw.add(socket);
    socket.once('close', () => this.raw.delete(socket));
  }

  private onSecureConnection(socket: TLSSocket): void {
    const t: Tracked = { socket, inFlight: new Set(), expired: false, used: false, timers: [] };
    this.tracked.set(socket, t);
    // A connection that completed its handshake but never sends a request.
    t.timers.push(
      setTimeout(() => {
        if (!t.used) socket.destroy();
      }, this.limits.requestTimeoutSeconds * 1000).unref(),
    );
    t.timers.push(setTimeout(() => this.expire(socket), this.limits.maxConnectionAgeSeconds * 1000).unref());
    socket.once('close', () => {
      for (const timer of t.timers) clearTimeout(timer);
      this.tracked.delete(socket);
    });
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const t = this.tracked.get(req.socket as TLSSocket);
    if (!t) return;
    t.used = true;
    t.inFlight.add(res);
    if (t.expired || this.shuttingDown) res.setHeader('connection', 'close');
    // one listener shared by every response: no closure or `once` wrapper per request
    (res as TrackedResponse)[TRACKED] = t;
    res.on('close', this.onResponseClose);
  }

  private readonly onResponseClose = responseCloseListener(() => this.shuttingDown);

  /** Closes the connection when idle, else after its current response. */
  private expire(socket: TLSSocket): void {
    const t = this.tracked.get(socket);
    if (!t) return;
    t.expired = true;
    if (t.inFlight.size === 0) {
      socket.destroy();
      return;
    }
    for (const res of t.inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
  }

  /**
   * After a CA or CRL reload: connections that presented a client certificate were verified
   * against the old material, so they end (idle ones now, busy ones after their response) and
   * the client's next handshake is checked against the new CRL.
   */
  expireCertificateConnections(): number {
    let count = 0;
    for (const socket of [...this.tracked.keys()]) {
      const cert = socket.getPeerCertificate();
      if (cert && Object.keys(cert).length > 0) {
        count++;
        this.expire(socket);
      }
    }
    return count;
  }

  /**
   * Shutdown, together with the server's own close: new connections are refused, idle ones
   * (and half-open TLS handshakes) end now; the rest get `graceSeconds` to finish their
   * request, then everything is destroyed. Resolves once `closed` (the server's close) has.
   */
  async shutdown(closed: Promise<unknown>): Promise<void> {
    this.shuttingDown = true;
    const busy = new Set<Socket | undefined>();
    for (const [socket, t] of this.tracked) {
      if (t.inFlight.size === 0) socket.destroy();
      else busy.add(socketOf(socket));
    }
    // what is left without a request in flight is still in its TLS handshake
    if (!busy.has(undefined)) for (const socket of this.raw) if (!busy.has(socket)) socket.destroy();
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.limits.shutdownGraceSeconds * 1000);
    });
    await Promise.race([closed, grace]);
    clearTimeout(timer);
    this.server.closeAllConnections();
    for (const socket of this.raw) socket.destroy();
    await closed;
  }
}

/** The listener of a tracked response's 'close' (`this` is the response). */
function responseCloseListener(shuttingDown: () => boolean) {
  return function (this: TrackedResponse): void {
    const t = this[TRACKED]!;
    t.inFlight.delete(this);
    // headers may have gone out before the connection expired: close it now that it is idle
    if ((t.expired || shuttingDown()) && t.inFlight.size === 0) t.socket.end();
  };
}

/**
 * The TCP socket under a server's TLS socket. Node keeps it as `_parentWrap` and has no public
 * accessor; if that ever changes, the caller leaves handshaking sockets to the grace period.
 */
function socketOf(tls: TLSSocket): Socket | undefined {
  return (tls as unknown as { _parentWrap?: Socket })._parentWrap;
}
