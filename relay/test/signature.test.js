'use strict'

// The shared test vector (tests/vectors/relay-signature.json) is what ties this relay to the Python verifier.

const { test } = require('node:test')
const assert = require('node:assert/strict')

const { handle, sign, forwardedBody } = require('../src/dx-asset-compute-worker-1/actions/relay/relay.js')
const { VECTOR } = require('./support.js')

test('sign() reproduces the shared vector', () => {
  const body = Buffer.from(VECTOR.body, 'utf8')
  assert.equal(sign(VECTOR.key, VECTOR.timestamp, VECTOR.requestId, body), VECTOR.signature)
})

test('the vector body has non-ASCII characters, so bytes and characters differ', () => {
  assert.notEqual(Buffer.byteLength(VECTOR.body, 'utf8'), VECTOR.body.length)
})

test('forwardedBody() of the parsed vector job serialises to the vector bytes', () => {
  const job = JSON.parse(VECTOR.body)
  assert.equal(forwardedBody({ ...job, extra: 1, __ow_method: 'post' }).toString('utf8'), VECTOR.body)
})

test('handle() sends the vector signature for the vector inputs', async () => {
  let sent
  const fetch = async (url, init) => {
    sent = init
    return new Response(null, { status: 202 })
  }
  const params = {
    __ow_method: 'post',
    __ow_headers: { authorization: 'Bearer t', 'x-gw-ims-org-id': 'ORG@AdobeOrg', 'x-request-id': VECTOR.requestId },
    RELAY_HMAC_KEY: VECTOR.key,
    ...JSON.parse(VECTOR.body)
  }
  const result = await handle(params, {
    workerUrl: 'https://worker.invalid/api/worker',
    orgId: 'ORG@AdobeOrg',
    fetch,
    now: () => Number(VECTOR.timestamp) * 1000 + 999,
    activationId: 'act',
    log: () => {}
  })
  assert.equal(result.statusCode, 200)
  assert.equal(sent.headers['x-relay-timestamp'], VECTOR.timestamp)
  assert.equal(sent.headers['x-relay-signature'], VECTOR.signature)
  assert.equal(Buffer.from(sent.body).toString('utf8'), VECTOR.body)
})
