'use strict';
/** The benchmarks' HTTP clients of the API. */
const http = require('node:http');

/** POST /<engine>/upload with one file (a Blob) as the form's `upload`, named `name`: fetch's Response. */
function postUpload(api, engine, blob, name) {
  const form = new FormData();
  form.append('upload', blob, name);
  return fetch(`${api}/${engine}/upload`, { method: 'POST', body: form });
}

/**
 * A keep-alive client of `base`, at most `maxSockets` sockets (one per
 * concurrent caller, as a client library would have): request(method, path,
 * body?, headers?) answers { status, body } with the whole body as a Buffer.
 */
function keepAliveClient(base, maxSockets) {
  const url = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  return function request(method, path, body, headers = {}) {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          method,
          path,
          agent,
          headers: body ? { ...headers, 'content-length': body.length } : headers,
        },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  };
}

module.exports = { postUpload, keepAliveClient };
