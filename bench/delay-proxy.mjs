// A TCP proxy that adds network latency, for `npm run bench ocsp`: the
// loopback responders answer in well under a millisecond, which no CA's
// responder does. Usage: node delay-proxy.mjs RTT_MS LISTEN:TARGET ...
// A connection to LISTEN is connected to 127.0.0.1:TARGET one round trip
// later (the TCP handshake), and every chunk is delivered half a round trip
// after it was sent, in each direction: a request/response over a new
// connection costs two round trips, as on a real path. Prints "ready" when
// listening. Runs in its own process so its CPU is not tlskeeper's.
import net from 'node:net';

const rtt = Number(process.argv[2]);
const pairs = process.argv.slice(3).map((p) => p.split(':').map(Number));

function forward(from, to, oneWay) {
  from.on('data', (chunk) => setTimeout(() => { if (!to.destroyed) to.write(chunk); }, oneWay));
  from.on('end', () => setTimeout(() => { if (!to.destroyed) to.end(); }, oneWay));
  from.on('error', () => to.destroy());
  from.on('close', () => setTimeout(() => to.destroy(), oneWay));
}

let listening = 0;
for (const [listen, target] of pairs) {
  net.createServer((client) => {
    client.pause();
    setTimeout(() => {
      if (client.destroyed) return;
      const upstream = net.connect(target, '127.0.0.1', () => client.resume());
      forward(client, upstream, rtt / 2);
      forward(upstream, client, rtt / 2);
    }, rtt);
  }).listen(listen, '127.0.0.1', () => {
    if (++listening === pairs.length) process.stdout.write('ready\n');
  });
}
