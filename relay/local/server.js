#!/usr/bin/env node
/*
 * Local host of the relay action: plays I/O Runtime's web-action gateway plus Adobe's validator on loopback.
 *
 *   WORKER_URL=... ORG_ID=... RELAY_HMAC_KEY=... NODE_EXTRA_CA_CERTS=<local CA> \
 *     node local/server.js --port <p> --cert <pem> --key <pem> --jwks-url <url> --work-dir <dir>
 *
 * Per request on /api/v1/web/dx-asset-compute-worker-1/relay:
 *   1. the validator: bearer token checked against the JWKS (RS256, created_at + expires_in) -> 401 if invalid;
 *   2. OpenWhisk's web-action mapping: params = default params, then query, then JSON body (each overriding the
 *      previous, as on Runtime where `final` does not hold under require-adobe-auth), `__ow_*` fields from the
 *      caller refused with 400, plus `__ow_method` (lower case), `__ow_headers` (lower-case names), `__ow_path`;
 *   3. the action's `main` (a copy of the deployable action pinned by scripts/pin.js, see load-action.js);
 *   4. `{statusCode, headers, body}` back to HTTP.
 * The HMAC key comes from the environment (not argv, which other users can read) and becomes the default param
 * RELAY_HMAC_KEY, as the manifest's `inputs` does on Runtime.
 */
'use strict'

const crypto = require('node:crypto')
const fs = require('node:fs')
const http = require('node:http')
const https = require('node:https')
const { verifyImsToken, jwksFromUrl, InvalidToken } = require('./ims-validator.js')

const ACTION_PATH = '/api/v1/web/dx-asset-compute-worker-1/relay'
// I/O Runtime's limit on a request payload.
const MAX_BODY_BYTES = 1024 * 1024

class HttpError extends Error {
  constructor (status, message) {
    super(message)
    this.status = status
  }
}

function sendJson (res, status, body, headers = {}) {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers })
  res.end(text)
}

function readBody (req) {
  return new Promise((resolve, reject) => {
    const chunks = []
    let size = 0
    req.on('data', (chunk) => {
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, 'The request content was malformed: request entity too large'))
        req.destroy()
      } else {
        chunks.push(chunk)
      }
    })
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

/** The params OpenWhisk gives a `web: yes` action for this request. */
function webActionParams (req, url, body, defaults) {
  const headers = {}
  for (const [name, value] of Object.entries(req.headers)) {
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value
  }
  const query = Object.fromEntries(url.searchParams)
  const contentType = (headers['content-type'] || '').split(';')[0].trim().toLowerCase()
  let fields = {}
  if (body.length > 0 && contentType === 'application/json') {
    try {
      fields = JSON.parse(body.toString('utf8'))
    } catch {
      throw new HttpError(400, 'The request content was malformed: invalid JSON')
    }
    if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) {
      throw new HttpError(400, 'The request content was malformed: JSON body must be an object')
    }
  }
  // Runtime refuses requests that try to set its reserved properties.
  if ([...Object.keys(query), ...Object.keys(fields)].some((name) => name.startsWith('__ow_'))) {
    throw new HttpError(400, 'Request defines parameters that are not allowed (e.g., reserved properties).')
  }
  if (body.length > 0 && contentType !== 'application/json') {
    fields = { __ow_body: body.toString('base64') }
  }
  return {
    ...defaults,
    ...query,
    ...fields,
    __ow_method: req.method.toLowerCase(),
    __ow_headers: headers,
    __ow_path: url.pathname.slice(ACTION_PATH.length)
  }
}

function sendResult (res, result) {
  const out = result && typeof result === 'object' ? result : {}
  const status = Number.isInteger(out.statusCode) ? out.statusCode : (out.body === undefined ? 204 : 200)
  const headers = { ...(out.headers || {}) }
  let body = out.body
  if (body !== undefined && typeof body !== 'string') {
    body = JSON.stringify(body)
    headers['content-type'] = headers['content-type'] || 'application/json'
  }
  res.writeHead(status, headers)
  res.end(body)
}

/**
 * The HTTP(S) server. `tls` is `{cert, key}` (PEM) or null for plain HTTP (tests of this module only).
 * `main` is the action's entry point; `defaults` its default params; `jwks` a key-set source (see ims-validator).
 */
function createRelayServer ({ main, defaults, jwks, tls, now = Date.now, log = (line) => console.log(JSON.stringify(line)) }) {
  const onRequest = async (req, res) => {
    const url = new URL(req.url, 'http://localhost')
    const entry = { method: req.method, path: url.pathname }
    try {
      if (url.pathname !== ACTION_PATH) throw new HttpError(404, 'The requested resource does not exist.')
      if (req.method === 'OPTIONS') {
        // Runtime answers CORS preflights itself, without running the action.
        res.writeHead(200, {
          'access-control-allow-origin': '*',
          'access-control-allow-methods': 'OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH',
          'access-control-allow-headers': 'Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent'
        })
        res.end()
        entry.status = 200
        return
      }
      const body = await readBody(req)
      try {
        await verifyImsToken(req.headers.authorization, { jwks, now })
      } catch (err) {
        if (err instanceof InvalidToken) throw new HttpError(401, 'cannot authorize request')
        throw new HttpError(503, 'cannot validate token')
      }
      const params = webActionParams(req, url, body, defaults)
      // Set right before main reads it synchronously at entry (see the action's index.js).
      process.env.__OW_ACTIVATION_ID = crypto.randomBytes(16).toString('hex')
      entry.activationId = process.env.__OW_ACTIVATION_ID
      let result
      try {
        result = await main(params)
      } catch {
        throw new HttpError(502, 'The action did not produce a valid response.')
      }
      sendResult(res, result)
      entry.status = res.statusCode
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 500
      entry.status = status
      if (!res.headersSent) sendJson(res, status, { error: err instanceof HttpError ? err.message : 'internal error' })
    } finally {
      log(entry)
    }
  }
  const handler = (req, res) => { onRequest(req, res) }
  return tls ? https.createServer({ cert: tls.cert, key: tls.key }, handler) : http.createServer(handler)
}

function parseArgs (argv) {
  const wanted = ['--port', '--cert', '--key', '--jwks-url', '--work-dir']
  const args = {}
  for (let i = 0; i < argv.length; i += 2) {
    if (!wanted.includes(argv[i]) || argv[i + 1] === undefined) {
      throw new Error(`usage: server.js ${wanted.map((w) => `${w} <value>`).join(' ')}`)
    }
    args[argv[i].slice(2)] = argv[i + 1]
  }
  for (const name of wanted) if (!args[name.slice(2)]) throw new Error(`missing ${name}`)
  return args
}

function run () {
  const args = parseArgs(process.argv.slice(2))
  const { loadPinnedAction } = require('./load-action.js')
  const action = loadPinnedAction({ dir: args['work-dir'], workerUrl: process.env.WORKER_URL, orgId: process.env.ORG_ID })
  const defaults = process.env.RELAY_HMAC_KEY ? { RELAY_HMAC_KEY: process.env.RELAY_HMAC_KEY } : {}
  const server = createRelayServer({
    main: action.main,
    defaults,
    jwks: jwksFromUrl(args['jwks-url']),
    tls: { cert: fs.readFileSync(args.cert), key: fs.readFileSync(args.key) }
  })
  server.listen(Number(args.port), '127.0.0.1', () => {
    console.log(JSON.stringify({ listening: `https://localhost:${args.port}${ACTION_PATH}` }))
  })
  const stop = () => {
    server.close(() => process.exit(0))
    server.closeAllConnections()
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

if (require.main === module) {
  try {
    run()
  } catch (err) {
    console.error(`relay local server: ${err.message}`)
    process.exit(1)
  }
}

module.exports = { createRelayServer, webActionParams, ACTION_PATH }
