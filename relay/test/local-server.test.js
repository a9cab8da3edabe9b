'use strict'

// The local host's gateway part (validator + web-action params + result mapping), over loopback HTTP with a
// recording `main`. The HTTPS path with the real action is tested from Python (tests/relay/test_relay_process.py).

const { test, describe, before, after, beforeEach } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')

const { createRelayServer, ACTION_PATH } = require('../local/server.js')

const NOW = 1767225600000
const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
const JWK = { ...publicKey.export({ format: 'jwk' }), kid: 'k1' }
const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url')
function bearer (claims = {}) {
  const h = b64({ alg: 'RS256', kid: 'k1' })
  const p = b64({ type: 'access_token', created_at: String(NOW), expires_in: '86400000', ...claims })
  return `Bearer ${h}.${p}.${crypto.sign('sha256', Buffer.from(`${h}.${p}`), privateKey).toString('base64url')}`
}

let server
let base
let calls
let result
let logs
before(async () => {
  server = createRelayServer({
    main: async (params) => {
      calls.push({ params, activationId: process.env.__OW_ACTIVATION_ID })
      if (result instanceof Error) throw result
      return result
    },
    defaults: { RELAY_HMAC_KEY: 'default-key', other: 'default' },
    jwks: async () => ({ keys: [JWK] }),
    tls: null,
    now: () => NOW,
    log: (entry) => logs.push(entry)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${server.address().port}`
})
after(() => new Promise((resolve) => {
  server.closeAllConnections()
  server.close(resolve)
}))
beforeEach(() => {
  calls = []
  logs = []
  result = { statusCode: 200, headers: { 'content-type': 'application/json' }, body: { activationId: 'x' } }
})

function post (body, { headers = {}, path = ACTION_PATH, method = 'POST' } = {}) {
  return fetch(base + path, {
    method,
    headers: { authorization: bearer(), 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body))
  })
}

describe('validator', () => {
  for (const [name, authorization] of [['missing', undefined], ['expired', bearer({ created_at: String(NOW - 2000), expires_in: '1000' })], ['garbage', 'Bearer a.b.c']]) {
    test(`${name} token: 401 and the action is not run`, async () => {
      const headers = { 'content-type': 'application/json' }
      if (authorization) headers.authorization = authorization
      const res = await fetch(base + ACTION_PATH, { method: 'POST', headers, body: '{}' })
      assert.equal(res.status, 401)
      assert.equal(calls.length, 0)
    })
  }
})

describe('web-action params', () => {
  test('defaults, then query, then body; __ow_method lower case; headers lower-cased', async () => {
    const res = await post({ source: 's', other: 'body' }, { path: `${ACTION_PATH}?other=query&q=1`, headers: { 'X-Request-Id': 'R', 'X-Gw-Ims-Org-Id': 'O@AdobeOrg' } })
    assert.equal(res.status, 200)
    const { params, activationId } = calls[0]
    assert.equal(params.__ow_method, 'post')
    assert.equal(params.__ow_headers['x-request-id'], 'R')
    assert.equal(params.__ow_headers['x-gw-ims-org-id'], 'O@AdobeOrg')
    assert.ok(params.__ow_headers.authorization.startsWith('Bearer '))
    assert.equal(params.__ow_path, '')
    assert.equal(params.source, 's')
    assert.equal(params.other, 'body')
    assert.equal(params.q, '1')
    assert.equal(params.RELAY_HMAC_KEY, 'default-key')
    assert.match(activationId, /^[0-9a-f]{32}$/)
    assert.equal(logs.at(-1).activationId, activationId)
  })

  test('like Runtime, a body field can override a default param', async () => {
    await post({ RELAY_HMAC_KEY: 'caller-key' })
    assert.equal(calls[0].params.RELAY_HMAC_KEY, 'caller-key')
  })

  for (const where of ['body', 'query']) {
    test(`__ow_* in the ${where} is refused with 400`, async () => {
      const res = where === 'body'
        ? await post({ __ow_headers: { 'x-gw-ims-org-id': 'EVIL' } })
        : await post({}, { path: `${ACTION_PATH}?__ow_method=post` })
      assert.equal(res.status, 400)
      assert.equal(calls.length, 0)
    })
  }

  test('invalid JSON and non-object JSON are 400', async () => {
    assert.equal((await post('{')).status, 400)
    assert.equal((await post('[1]')).status, 400)
    assert.equal(calls.length, 0)
  })

  test('a non-JSON body arrives base64 in __ow_body', async () => {
    await post('plain', { headers: { 'content-type': 'text/plain' } })
    assert.equal(Buffer.from(calls[0].params.__ow_body, 'base64').toString(), 'plain')
  })

  test('GET reaches the action as __ow_method get (the action answers 405)', async () => {
    result = { statusCode: 405, body: { message: 'Supported HTTP methods: OPTIONS, POST' } }
    const res = await fetch(base + ACTION_PATH, { headers: { authorization: bearer() } })
    assert.equal(res.status, 405)
    assert.equal(calls[0].params.__ow_method, 'get')
  })

  test('OPTIONS is answered by the gateway', async () => {
    const res = await fetch(base + ACTION_PATH, { method: 'OPTIONS' })
    assert.equal(res.status, 200)
    assert.equal(calls.length, 0)
  })

  test('other paths are 404', async () => {
    assert.equal((await post({}, { path: '/api/v1/web/other/action' })).status, 404)
    assert.equal(calls.length, 0)
  })
})

describe('result mapping', () => {
  test('statusCode, headers and a JSON body', async () => {
    result = { statusCode: 429, body: { message: 'busy' } }
    const res = await post({})
    assert.equal(res.status, 429)
    assert.equal(res.headers.get('content-type'), 'application/json')
    assert.deepEqual(await res.json(), { message: 'busy' })
  })

  test('an action that throws is a 502', async () => {
    result = new Error('boom')
    assert.equal((await post({})).status, 502)
  })
})
