'use strict'

const { test, describe } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')

const { verifyImsToken, jwksFromUrl, InvalidToken } = require('../local/ims-validator.js')
const { startRecorder } = require('./support.js')

const NOW = 1767225600000
const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
const JWK = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' }

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url')
function token ({ header = {}, claims = {}, key = privateKey } = {}) {
  const h = b64({ alg: 'RS256', kid: 'k1', ...header })
  const p = b64({ type: 'access_token', client_id: 'c', created_at: String(NOW - 1000), expires_in: String(86400000), ...claims })
  const s = crypto.sign('sha256', Buffer.from(`${h}.${p}`), key).toString('base64url')
  return `Bearer ${h}.${p}.${s}`
}
const jwksOf = (...keys) => async () => ({ keys })
const verify = (authorization, { jwks = jwksOf(JWK), now = NOW } = {}) => verifyImsToken(authorization, { jwks, now: () => now })

describe('verifyImsToken', () => {
  test('accepts a valid IMS-style token and returns its claims', async () => {
    const claims = await verify(token())
    assert.equal(claims.client_id, 'c')
  })

  test('accepts numeric lifetime claims and a lower-case scheme', async () => {
    await verify(token({ claims: { created_at: NOW, expires_in: 1000 } }).replace('Bearer', 'bearer'))
  })

  const invalid = {
    'no header': [undefined],
    'basic auth': ['Basic dXNlcjpwYXNz'],
    'two segments': ['Bearer a.b'],
    'garbage segments': ['Bearer ###.###.###'],
    'non-JSON header': [`Bearer ${Buffer.from('x').toString('base64url')}.${b64({})}.c2ln`],
    'alg none': [token({ header: { alg: 'none' } })],
    'alg HS256': [token({ header: { alg: 'HS256' } })],
    'signed by another key': [token({ key: other.privateKey })],
    'unknown kid': [token({ header: { kid: 'k2' } })],
    'tampered payload': [(() => { const [h, , s] = token().slice(7).split('.'); return `Bearer ${h}.${b64({ type: 'access_token', created_at: String(NOW), expires_in: '999999999' })}.${s}` })()],
    'expired': [token({ claims: { created_at: String(NOW - 10000), expires_in: '10000' } })],
    'created in the future': [token({ claims: { created_at: String(NOW + 61000) } })],
    'missing created_at': [token({ claims: { created_at: undefined } })],
    'malformed expires_in': [token({ claims: { expires_in: '1e9' } })],
    'refresh token': [token({ claims: { type: 'refresh_token' } })]
  }
  for (const [name, [authorization]] of Object.entries(invalid)) {
    test(`rejects: ${name}`, async () => {
      await assert.rejects(verify(authorization), InvalidToken)
    })
  }

  test('a token is valid up to, not including, created_at + expires_in', async () => {
    const t = token({ claims: { created_at: String(NOW), expires_in: '5000' } })
    await verify(t, { now: NOW + 4999 })
    await assert.rejects(verify(t, { now: NOW + 5000 }), InvalidToken)
  })

  test('an unknown kid triggers one refresh of the key set (key rotation)', async () => {
    const asked = []
    const jwks = async (refresh) => {
      asked.push(refresh)
      return { keys: refresh ? [JWK] : [{ ...JWK, kid: 'old' }] }
    }
    await verify(token(), { jwks })
    assert.deepEqual(asked, [false, true])
  })
})

describe('jwksFromUrl', () => {
  test('fetches once, again only on refresh', async (t) => {
    const server = await startRecorder((req, body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ keys: [JWK] }))
    })
    t.after(() => server.close())
    const jwks = jwksFromUrl(`${server.origin}/jwks`)
    assert.deepEqual((await jwks(false)).keys[0].kid, 'k1')
    await jwks(false)
    assert.equal(server.requests.length, 1)
    await jwks(true)
    assert.equal(server.requests.length, 2)
  })

  test('a failing key-set URL is an error, not an invalid token', async (t) => {
    const server = await startRecorder((req, body, res) => { res.writeHead(500); res.end() })
    t.after(() => server.close())
    await assert.rejects(verifyImsToken(token(), { jwks: jwksFromUrl(server.origin), now: () => NOW }), (err) => !(err instanceof InvalidToken))
  })
})
