// Uploads directory trees to Azurite (or any path-style blob endpoint) with SharedKey-signed Put Blob,
// the request shape of tests/storage/azure/azurite.cpp's Uploader. No dependencies.
//
//   node azurite-upload.mjs ENDPOINT CONTAINER PREFIX=DIR [PREFIX=DIR...]
//
// ENDPOINT is http://127.0.0.1:PORT (the account goes in the path). The container is created if
// missing; every file under DIR becomes the blob PREFIX/<relative path>. The account is
// devstoreaccount1 with the emulator's published key unless AZURE_STORAGE_ACCOUNT /
// AZURE_STORAGE_KEY say otherwise. Prints the number of blobs and bytes uploaded.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const account = process.env.AZURE_STORAGE_ACCOUNT || 'devstoreaccount1';
const key = Buffer.from(process.env.AZURE_STORAGE_KEY || DEV_KEY, 'base64');
const API_VERSION = '2021-08-06';
const PARALLEL = 8;

const [endpointArg, container, ...trees] = process.argv.slice(2);
if (!endpointArg || !container || trees.length === 0 || trees.some((t) => !t.includes('='))) {
  console.error('usage: node azurite-upload.mjs ENDPOINT CONTAINER PREFIX=DIR [PREFIX=DIR...]');
  process.exit(2);
}
const endpoint = new URL(endpointArg);
const agent = new http.Agent({ keepAlive: true, maxSockets: PARALLEL });

// Percent-encodes a blob name, keeping '/' (as pgsplit's EncodePath does).
const encodePath = (name) => name.split('/').map((s) => encodeURIComponent(s).replace(/[!'()*]/g,
  (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)).join('/');

// The SharedKey string to sign (Blob service, version 2015-02-21 and later).
function sign(method, urlPath, query, headers) {
  const h = (n) => headers[n] ?? '';
  const length = h('content-length') === '0' ? '' : h('content-length');
  const ms = Object.keys(headers).filter((n) => n.startsWith('x-ms-')).sort()
    .map((n) => `${n}:${String(headers[n]).replace(/\s+/g, ' ').trim()}\n`).join('');
  const params = [...new URLSearchParams(query)].reduce((m, [k, v]) => m.set(k.toLowerCase(), [...(m.get(k.toLowerCase()) ?? []), v]), new Map());
  const canonQuery = [...params.keys()].sort().map((k) => `\n${k}:${params.get(k).sort().join(',')}`).join('');
  const toSign = [method, h('content-encoding'), h('content-language'), length, h('content-md5'), h('content-type'),
    h('date'), h('if-modified-since'), h('if-match'), h('if-none-match'), h('if-unmodified-since'), h('range')]
    .join('\n') + `\n${ms}/${account}${urlPath}${canonQuery}`;
  return `SharedKey ${account}:${crypto.createHmac('sha256', key).update(toSign, 'utf8').digest('base64')}`;
}

function send(method, urlPath, query, body, extra = {}) {
  const headers = { 'content-length': String(body.length), 'x-ms-date': new Date().toUTCString(),
    'x-ms-version': API_VERSION, ...extra };
  headers.authorization = sign(method, urlPath, query, headers);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: endpoint.hostname, port: endpoint.port, method, agent, headers,
      path: urlPath + (query ? `?${query}` : '') }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const base = `/${account}/${encodePath(container)}`;
const created = await send('PUT', base, 'restype=container', Buffer.alloc(0));
if (created.status !== 201 && created.status !== 409) {
  console.error(`azurite-upload: create container ${container}: HTTP ${created.status} ${created.body}`);
  process.exit(1);
}
const jobs = [];
for (const tree of trees) {
  const eq = tree.indexOf('=');
  const prefix = tree.slice(0, eq).replace(/^\/+|\/+$/g, '');
  const dir = tree.slice(eq + 1);
  for (const rel of fs.readdirSync(dir, { recursive: true })) {
    const file = path.join(dir, rel);
    if (fs.statSync(file).isFile()) jobs.push({ file, blob: [prefix, rel.split(path.sep).join('/')].filter(Boolean).join('/') });
  }
}
let next = 0;
let bytes = 0;
async function worker() {
  while (next < jobs.length) {
    const { file, blob } = jobs[next++];
    const data = fs.readFileSync(file);
    const r = await send('PUT', `${base}/${encodePath(blob)}`, '', data, { 'x-ms-blob-type': 'BlockBlob' });
    if (r.status !== 201) throw new Error(`put ${container}/${blob}: HTTP ${r.status} ${r.body.slice(0, 300)}`);
    bytes += data.length;
  }
}
try {
  await Promise.all(Array.from({ length: PARALLEL }, worker));
} catch (err) {
  console.error(`azurite-upload: ${err.message}`);
  process.exit(1);
}
agent.destroy();
console.log(`${jobs.length} blobs, ${(bytes / 1048576).toFixed(1)} MiB uploaded to ${container}`);
