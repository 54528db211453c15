// A TCP proxy between the client and the server, for faults at chosen moments. TLS passes
// through untouched (the client still talks to the real server); the proxy only decides what
// reaches whom: it can swallow the server's answers on the connections open now (the request
// has arrived and is being processed, its answer never comes back), cut every open connection,
// and point new connections at another port (a restarted server) or at nothing (a server away).
import net from 'node:net';

export interface TcpProxy {
  url: string;
  /** connections now open */
  open(): number;
  /** the server's bytes on the connections open now are dropped from here on */
  swallowAnswers(): void;
  /** closes every open connection on both sides */
  cutAll(): void;
  /** new connections go to this port; undefined: refused as by a server that is down */
  setUpstream(port: number | undefined): void;
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  server: net.Socket;
  swallow: boolean;
}

export async function startTcpProxy(upstreamPort: number): Promise<TcpProxy> {
  let upstream: number | undefined = upstreamPort;
  const pairs = new Set<Pair>();
  const proxy = net.createServer((client) => {
    if (upstream === undefined) {
      client.resetAndDestroy();
      return;
    }
    const server = net.connect(upstream, '127.0.0.1');
    const pair: Pair = { client, server, swallow: false };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      server.destroy();
    };
    client.on('data', (d) => server.write(d));
    server.on('data', (d) => {
      if (!pair.swallow) client.write(d);
    });
    client.on('close', end);
    server.on('close', end);
    client.on('error', end);
    server.on('error', end);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as net.AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    open: () => pairs.size,
    swallowAnswers: () => {
      for (const p of pairs) p.swallow = true;
    },
    cutAll: () => {
      for (const p of [...pairs]) {
        p.client.destroy();
        p.server.destroy();
      }
    },
    setUpstream: (p) => {
      upstream = p;
    },
    close: async () => {
      for (const p of [...pairs]) {
        p.client.destroy();
        p.server.destroy();
      }
      await new Promise((resolve) => proxy.close(resolve));
    },
  };
}
