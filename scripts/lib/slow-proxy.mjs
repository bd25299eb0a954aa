// A loopback reverse HTTP proxy that makes a local server look far away: every request waits one
// round trip before it is forwarded, and every response is streamed back at a capped rate per client
// connection. scripts/bench-adls.sh puts it between pgsplit and Azurite.
//
//   node slow-proxy.mjs --target http://127.0.0.1:PORT [--listen-port P|0] [--rtt-ms 20] [--mbps 50]
//                       [--port-file F] [--stats-file S] [--log-file L]
//
// --listen-port 0 (the default) takes a free port; the port is printed on stdout and written to
// --port-file. --mbps is in MB/s (10^6 bytes per second) per client connection (token bucket; 0 = no
// cap). Requests are forwarded as they came: method, path and query byte for byte, every header
// (Host, Authorization, x-ms-*) in its order and spelling; only hop-by-hop headers (Connection,
// Keep-Alive, Expect, ...) stay between the proxy and each side. Response headers likewise.
//
// Statistics: GET /__stats answers JSON {requests, connections, bytes_out, in_flight, peak_in_flight}
// (not counted itself); POST /__stats/reset zeroes the counters (and the peak). --stats-file S is
// rewritten with the same JSON (write + rename) after every completed request. Listens on
// 127.0.0.1 only and forwards only to a loopback target. --log-file L appends one line per request:
// start time (ms since the proxy started), client connection number, method, path and query, the
// Range header (- if none), status, response bytes, milliseconds until the response was fully written
// (RTT wait included).
import fs from 'node:fs';
import http from 'node:http';

function parseArgs(argv) {
  const opts = { listenPort: 0, target: '', rttMs: 20, mbps: 50, portFile: '', statsFile: '', logFile: '' };
  const names = { '--listen-port': 'listenPort', '--target': 'target', '--rtt-ms': 'rttMs', '--mbps': 'mbps',
    '--port-file': 'portFile', '--stats-file': 'statsFile', '--log-file': 'logFile' };
  for (let i = 0; i < argv.length; i += 1) {
    const key = names[argv[i]];
    if (!key || i + 1 >= argv.length) {
      console.error(`slow-proxy: unknown or incomplete option '${argv[i]}'`);
      console.error('usage: node slow-proxy.mjs --target http://127.0.0.1:PORT [--listen-port P|0] [--rtt-ms MS] ' +
        '[--mbps MB_PER_S] [--port-file F] [--stats-file S] [--log-file L]');
      process.exit(2);
    }
    opts[key] = argv[++i];
  }
  for (const k of ['listenPort', 'rttMs', 'mbps']) {
    const n = Number(opts[k]);
    if (!Number.isFinite(n) || n < 0) {
      console.error(`slow-proxy: --${k} must be a number >= 0, not '${opts[k]}'`);
      process.exit(2);
    }
    opts[k] = n;
  }
  let target;
  try {
    target = new URL(opts.target);
  } catch {
    console.error(`slow-proxy: --target must be a URL like http://127.0.0.1:10000, not '${opts.target}'`);
    process.exit(2);
  }
  if (target.protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]'].includes(target.hostname)) {
    console.error(`slow-proxy: --target must be a loopback http:// URL, not '${opts.target}'`);
    process.exit(2);
  }
  opts.target = target;
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const rate = opts.mbps * 1e6 / 1000; // bytes per millisecond, 0 = unlimited
const SLICE = 64 * 1024; // largest write the throttle releases at once
const SLACK_MS = 5; // how far the schedule may fall behind the clock (a late timer) before it resets

// Connection-scoped headers: they describe one hop, not the request (RFC 9110 section 7.6.1).
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer',
  'upgrade', 'expect']);
function forwardable(raw) {
  const out = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (!HOP.has(raw[i].toLowerCase())) out.push(raw[i], raw[i + 1]);
  }
  return out;
}

const stats = { requests: 0, connections: 0, bytes_out: 0, in_flight: 0, peak_in_flight: 0 };
function writeStats() {
  if (!opts.statsFile) return;
  const tmp = `${opts.statsFile}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(stats) + '\n');
  fs.renameSync(tmp, opts.statsFile);
}

// Per client connection: when its (virtual) link is next free, in performance.now() milliseconds.
const links = new WeakMap();

// Sends `chunk` on `res` no faster than the connection's rate; calls done() when it is written.
function throttled(res, chunk, done) {
  if (rate === 0) {
    if (res.write(chunk)) done(); else res.once('drain', done);
    return;
  }
  const link = links.get(res.socket) ?? { next: 0 };
  links.set(res.socket, link);
  let off = 0;
  const step = () => {
    if (res.destroyed) return;
    if (off >= chunk.length) { done(); return; }
    const slice = chunk.subarray(off, Math.min(chunk.length, off + SLICE));
    off += slice.length;
    const now = performance.now();
    // The slice has arrived once the link has carried it: start when the link is free (or now, if it
    // has been idle), finish slice/rate later.
    link.next = Math.max(link.next, now - SLACK_MS) + slice.length / rate;
    const send = () => {
      if (res.destroyed) return;
      if (res.write(slice)) step(); else res.once('drain', step);
    };
    const wait = link.next - now;
    if (wait >= 1) setTimeout(send, wait); else send();
  };
  step();
}

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256 });

function serveStats(req, res) {
  if (req.method === 'POST' && req.url === '/__stats/reset') {
    Object.assign(stats, { requests: 0, connections: 0, bytes_out: 0, peak_in_flight: stats.in_flight });
    writeStats();
  }
  const body = JSON.stringify(stats) + '\n';
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const log = opts.logFile ? fs.createWriteStream(opts.logFile, { flags: 'a' }) : null;
const t0 = performance.now();
const connectionIds = new WeakMap(); // client socket -> its number, given on its first proxied request

const server = http.createServer((req, res) => {
  if (req.url === '/__stats' || req.url === '/__stats/reset') { req.resume(); serveStats(req, res); return; }
  if (!connectionIds.has(req.socket)) {
    stats.connections += 1;
    connectionIds.set(req.socket, stats.connections);
  }
  const started = performance.now();
  let sent = 0;
  stats.requests += 1;
  stats.in_flight += 1;
  stats.peak_in_flight = Math.max(stats.peak_in_flight, stats.in_flight);
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    stats.in_flight -= 1;
    writeStats();
    log?.write(`${(started - t0).toFixed(1)} c${connectionIds.get(req.socket)} ${req.method} ${req.url} ` +
      `${req.headers['x-ms-range'] ?? req.headers.range ?? '-'} ${res.statusCode} ` +
      `${sent} ${(performance.now() - started).toFixed(1)}\n`);
  };
  res.on('close', finish);
  setTimeout(() => {
    if (res.destroyed) { finish(); return; }
    const up = http.request({
      host: opts.target.hostname.replace(/^\[|\]$/g, ''), port: opts.target.port || 80, method: req.method,
      path: req.url, headers: forwardable(req.rawHeaders), agent, setHost: false,
    }, (upRes) => {
      res.sendDate = false; // the upstream's Date (if any) is forwarded, never a second one
      res.writeHead(upRes.statusCode, upRes.statusMessage, forwardable(upRes.rawHeaders));
      let sending = false;
      let ended = false;
      upRes.on('data', (chunk) => {
        stats.bytes_out += chunk.length;
        sent += chunk.length;
        sending = true;
        upRes.pause();
        throttled(res, chunk, () => {
          sending = false;
          if (ended) res.end(); else upRes.resume();
        });
      });
      upRes.on('end', () => {
        // The last chunk may still be waiting for its slot: end after it.
        ended = true;
        if (!sending) res.end();
      });
      upRes.on('error', () => res.destroy());
    });
    up.on('error', (err) => {
      if (res.headersSent) { res.destroy(); return; }
      const body = `slow-proxy: upstream ${opts.target.host}: ${err.message}\n`;
      res.writeHead(502, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
    res.on('close', () => { if (!res.writableFinished) up.destroy(); });
    req.pipe(up);
  }, opts.rttMs);
});
server.keepAliveTimeout = 60_000;
server.headersTimeout = 65_000;
server.requestTimeout = 0;

server.listen(opts.listenPort, '127.0.0.1', () => {
  const { port } = server.address();
  if (opts.portFile) fs.writeFileSync(opts.portFile, `${port}\n`);
  writeStats();
  console.log(port);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
