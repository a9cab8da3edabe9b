/*
 * Test support (not a test file): a loopback HTTP server standing in for the Azure intake, and the vector.
 */
'use strict'

const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')

const VECTOR = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'tests', 'vectors', 'relay-signature.json'), 'utf8'))

/**
 * Start an HTTP server on 127.0.0.1 that records every request (method, url, headers, raw body) and answers
 * with `respond(req, body, res)` (default 202). `close()` also drops connections a test left hanging.
 */
async function startRecorder (respond = (req, body, res) => { res.writeHead(202); res.end() }) {
  const requests = []
  const server = http.createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      requests.push({ method: req.method, url: req.url, headers: req.headers, body })
      respond(req, body, res)
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  return {
    url: `http://127.0.0.1:${port}/api/worker`,
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections()
      server.close(resolve)
    })
  }
}

module.exports = { VECTOR, startRecorder }
