'use strict'

const { test, describe, before, after, beforeEach } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')

const { handle, sign, MIN_KEY_LENGTH, MAX_MESSAGE_LENGTH } = require('../src/dx-asset-compute-worker-1/actions/relay/relay.js')
const { startRecorder } = require('./support.js')

const ORG = 'ABCDEF0123456789ABCDEF01@AdobeOrg'
const KEY = 'k'.repeat(MIN_KEY_LENGTH) + '-relay-test-key'
const TOKEN = 'Bearer eyJhbGciOiJSUzI1NiJ9.eyJjbGllbnRfaWQiOiJhZW0ifQ.c2lnbmF0dXJl'
const NOW_MS = 1767225600123 // fake clock: 2026-01-01T00:00:00.123Z
const ACTIVATION = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'

const JOB = {
  source: 'https://aem.blob.core.windows.net/c/source.jpg?sv=1&sig=abc',
  renditions: [{ fmt: 'png', name: 'circle.png', recipe: 'circle', size: '400', worker: 'https://x.adobeioruntime.net/api/v1/web/dx-asset-compute-worker-1/relay' }],
  userData: { assetPath: '/content/dam/a.jpg' },
  times: { gateway: 1767225599000 }
}

function activation (overrides = {}, headerOverrides = {}) {
  const headers = {
    authorization: TOKEN,
    'x-gw-ims-org-id': ORG,
    'x-request-id': 'req-123',
    'content-type': 'application/json',
    ...headerOverrides
  }
  for (const [k, v] of Object.entries(headers)) if (v === undefined) delete headers[k]
  return { __ow_method: 'post', __ow_headers: headers, __ow_path: '', RELAY_HMAC_KEY: KEY, ...JOB, ...overrides }
}

let intake
let logs
function deps (overrides = {}) {
  return {
    workerUrl: intake.url,
    orgId: ORG,
    fetch: globalThis.fetch,
    now: () => NOW_MS,
    timeoutMs: 5000,
    activationId: ACTIVATION,
    log: (entry) => logs.push(entry),
    ...overrides
  }
}

let status = 202
before(async () => {
  intake = await startRecorder((req, body, res) => { res.writeHead(status); res.end('{"ok":true}') })
})
after(() => intake.close())
beforeEach(() => {
  intake.requests.length = 0
  logs = []
  status = 202
})

describe('inbound checks', () => {
  for (const method of ['get', 'put', 'delete', 'options', undefined]) {
    test(`method ${method} is refused with 405 and nothing is forwarded`, async () => {
      const result = await handle(activation({ __ow_method: method }), deps())
      assert.equal(result.statusCode, 405)
      assert.deepEqual(result.body, { message: 'Supported HTTP methods: OPTIONS, POST' })
      assert.equal(intake.requests.length, 0)
    })
  }

  for (const authorization of [undefined, '']) {
    test(`authorization ${JSON.stringify(authorization)} is refused with 401`, async () => {
      const result = await handle(activation({}, { authorization }), deps())
      assert.equal(result.statusCode, 401)
      assert.equal(intake.requests.length, 0)
    })
  }

  for (const org of [undefined, '', 'OTHER0123456789ABCDEF0123@AdobeOrg', ORG.toLowerCase(), ` ${ORG}`]) {
    test(`org ${JSON.stringify(org)} is refused with 403`, async () => {
      const result = await handle(activation({}, { 'x-gw-ims-org-id': org }), deps())
      assert.equal(result.statusCode, 403)
      assert.equal(intake.requests.length, 0)
    })
  }

  const unconfigured = {
    'no worker URL': [{}, { workerUrl: undefined }],
    'no org id': [{}, { orgId: '' }],
    'no key': [{ RELAY_HMAC_KEY: undefined }, {}],
    'short key': [{ RELAY_HMAC_KEY: 'k'.repeat(MIN_KEY_LENGTH - 1) }, {}],
    'non-string key': [{ RELAY_HMAC_KEY: 12345 }, {}]
  }
  for (const [name, [params, depsOverride]] of Object.entries(unconfigured)) {
    test(`${name}: refuses with 500 and forwards nothing`, async () => {
      const result = await handle(activation(params), deps(depsOverride))
      assert.equal(result.statusCode, 500)
      assert.deepEqual(result.body, { message: 'relay is not configured' })
      assert.equal(intake.requests.length, 0)
    })
  }
})

describe('forwarding', () => {
  test('forwards one signed POST with the allow-listed body and headers, answers 200 {activationId}', async () => {
    const result = await handle(activation({}, { 'x-gw-ims-org-name': 'Acme', 'x-app-name': 'aem-prod' }), deps())
    assert.deepEqual(result, { statusCode: 200, headers: { 'content-type': 'application/json' }, body: { activationId: ACTIVATION } })
    assert.equal(intake.requests.length, 1)
    const [request] = intake.requests
    assert.equal(request.method, 'POST')
    assert.equal(request.url, '/api/worker')
    assert.deepEqual(JSON.parse(request.body.toString('utf8')), JOB)
    assert.equal(request.headers.authorization, TOKEN)
    assert.equal(request.headers['x-gw-ims-org-id'], ORG)
    assert.equal(request.headers['x-request-id'], 'req-123')
    assert.equal(request.headers['x-gw-ims-org-name'], 'Acme')
    assert.equal(request.headers['x-app-name'], 'aem-prod')
    assert.equal(request.headers['x-relay-activation-id'], ACTIVATION)
    assert.equal(request.headers['content-type'], 'application/json')
    assert.equal(request.headers['x-relay-timestamp'], '1767225600')
    // Independent recomputation over the bytes as received.
    const expected = 'sha256=' + crypto.createHmac('sha256', KEY)
      .update(Buffer.concat([Buffer.from('1767225600.req-123.'), request.body])).digest('hex')
    assert.equal(request.headers['x-relay-signature'], expected)
  })

  test('sends exactly the expected header set', async () => {
    await handle(activation({}, { 'x-forwarded-for': '1.2.3.4', cookie: 'a=b', 'x-api-key': 'k', 'x-gw-ims-org-name': undefined }), deps())
    const names = Object.keys(intake.requests[0].headers).filter((n) => !['host', 'connection', 'content-length', 'accept', 'accept-encoding', 'accept-language', 'sec-fetch-mode', 'user-agent'].includes(n))
    assert.deepEqual(names.sort(), ['authorization', 'content-type', 'x-gw-ims-org-id', 'x-relay-activation-id', 'x-relay-signature', 'x-relay-timestamp', 'x-request-id'])
  })

  test('the forwarded body holds exactly the allow-listed fields that are present', async () => {
    const extras = {
      newRelicApiKey: 'nr-secret', newRelicEventsURL: 'https://nr.example', customWorker: true,
      auth: { accessToken: 'x' }, requestId: 'forged', anything: 1, RELAY_HMAC_KEY: KEY
    }
    await handle({ ...activation(extras), times: undefined, userData: undefined }, deps())
    const body = JSON.parse(intake.requests[0].body.toString('utf8'))
    assert.deepEqual(Object.keys(body).sort(), ['renditions', 'source'])
    assert.deepEqual(body, { source: JOB.source, renditions: JOB.renditions })
  })

  test('a job without source (e.g. zip jobs) forwards what is there', async () => {
    await handle({ ...activation(), source: undefined }, deps())
    assert.deepEqual(Object.keys(JSON.parse(intake.requests[0].body.toString())).sort(), ['renditions', 'times', 'userData'])
  })

  test('params named like the pinned settings have no effect', async () => {
    const elsewhere = await startRecorder()
    try {
      const overrides = {
        workerUrl: elsewhere.url, WORKER_URL: elsewhere.url, worker_url: elsewhere.url, workerURL: elsewhere.url,
        orgId: 'EVIL@AdobeOrg', ORG_ID: 'EVIL@AdobeOrg', org_id: 'EVIL@AdobeOrg',
        timeoutMs: 1, now: 0, fetch: 'x', activationId: 'forged', __OW_ACTIVATION_ID: 'forged',
        __ow_path: '/../elsewhere', __ow_query: 'workerUrl=x', __ow_body: 'x', __ow_user: 'x'
      }
      const result = await handle(activation(overrides), deps())
      assert.equal(result.statusCode, 200)
      assert.deepEqual(result.body, { activationId: ACTIVATION })
      assert.equal(elsewhere.requests.length, 0)
      assert.equal(intake.requests.length, 1)
      assert.equal(intake.requests[0].url, '/api/worker')
      assert.equal(intake.requests[0].headers['x-relay-activation-id'], ACTIVATION)
      assert.deepEqual(JSON.parse(intake.requests[0].body.toString()), JOB)

      // And an org param cannot stand in for the header the validator let through.
      const refused = await handle(activation({ orgId: 'EVIL@AdobeOrg', ORG_ID: 'EVIL@AdobeOrg' }, { 'x-gw-ims-org-id': 'EVIL@AdobeOrg' }), deps())
      assert.equal(refused.statusCode, 403)
    } finally {
      await elsewhere.close()
    }
  })

  test('an overridden key only produces a signature the worker would reject', async () => {
    await handle(activation({ RELAY_HMAC_KEY: 'o'.repeat(40) }), deps())
    const request = intake.requests[0]
    assert.notEqual(request.headers['x-relay-signature'], sign(KEY, '1767225600', 'req-123', request.body))
  })

  test('missing x-request-id: not forwarded, signed as empty', async () => {
    await handle(activation({}, { 'x-request-id': undefined }), deps())
    const request = intake.requests[0]
    assert.equal(request.headers['x-request-id'], undefined)
    assert.equal(request.headers['x-relay-signature'], sign(KEY, '1767225600', '', request.body))
  })

  test('nothing secret reaches the log', async () => {
    await handle(activation(), deps())
    status = 500
    await handle(activation(), deps())
    const text = JSON.stringify(logs)
    assert.equal(logs.length, 2)
    for (const secret of [KEY, TOKEN.slice(7), 'sig=abc', intake.requests[0].headers['x-relay-signature']]) {
      assert.ok(!text.includes(secret), `log leaks ${secret.slice(0, 12)}...`)
    }
    assert.deepEqual(logs.map((l) => [l.relay, l.status, l.workerStatus, l.requestId]), [['forwarded', 200, 202, 'req-123'], ['worker-error', 500, 500, 'req-123']])
  })
})

describe('response mapping', () => {
  let answer = '{"ok":true}'
  let intakeWithBody
  before(async () => {
    intakeWithBody = await startRecorder((req, body, res) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(answer)
    })
  })
  after(() => intakeWithBody.close())
  beforeEach(() => { answer = '{"ok":true}' })
  const answering = (overrides = {}) => deps({ workerUrl: intakeWithBody.url, ...overrides })

  for (const workerStatus of [200, 201, 202, 204]) {
    test(`worker ${workerStatus} -> relay 200 {activationId}`, async () => {
      status = workerStatus
      const result = await handle(activation(), answering())
      assert.equal(result.statusCode, 200)
      assert.deepEqual(result.body, { activationId: ACTIVATION })
    })
  }

  // The worker's refusals (its own JSON message, secret-free) reach AEM with their status.
  const refusals = {
    400: 'renditions[0].fmt must be one of png, jpg, webp',
    401: 'unauthorized',
    403: 'organization not allowed',
    404: 'unknown recipe; known: circle',
    405: 'Supported HTTP methods: OPTIONS, POST',
    413: 'the body is larger than 262144 bytes',
    415: 'unsupported media type',
    429: 'too many requests'
  }
  for (const [workerStatus, message] of Object.entries(refusals)) {
    test(`worker ${workerStatus} -> relay ${workerStatus} with the worker's message`, async () => {
      status = Number(workerStatus)
      answer = JSON.stringify({ message })
      const result = await handle(activation(), answering())
      assert.equal(result.statusCode, Number(workerStatus))
      assert.deepEqual(result.body, { message })
      assert.equal(logs.at(-1).relay, 'worker-refused')
      assert.equal(logs.at(-1).workerStatus, Number(workerStatus))
    })
  }

  test('only a bounded `message` string is passed on, nothing else of the answer', async () => {
    status = 400
    answer = JSON.stringify({ message: 'bad\nline\u0007' + 'x'.repeat(5000), detail: 'internal', stack: 'at x.py:1' })
    const result = await handle(activation(), answering())
    assert.equal(result.statusCode, 400)
    assert.deepEqual(Object.keys(result.body), ['message'])
    assert.equal(result.body.message.length, MAX_MESSAGE_LENGTH)
    assert.ok(result.body.message.startsWith('bad line '), result.body.message.slice(0, 20))
    assert.doesNotMatch(result.body.message, /[\u0000-\u001f]/)
  })

  for (const [name, body] of Object.entries({ 'not JSON': '<html>Bad Request</html>', 'no message': '{"error":"x"}', 'a non-string message': '{"message":{"a":1}}', 'an empty message': '{"message":" "}', 'an empty body': '' })) {
    test(`a refusal with ${name} keeps its status and gets the relay's own message`, async () => {
      status = 403
      answer = body
      const result = await handle(activation(), answering())
      assert.equal(result.statusCode, 403)
      assert.deepEqual(result.body, { message: 'forward to worker failed with HTTP status code 403' })
    })
  }

  test('a huge refusal body is read only up to the bound', async () => {
    status = 413
    answer = JSON.stringify({ message: 'x'.repeat(4 * 1024 * 1024) })
    const result = await handle(activation(), answering())
    assert.equal(result.statusCode, 413)
    // Cut at the bound, the JSON no longer parses: the relay's own message, never a partial answer.
    assert.deepEqual(result.body, { message: 'forward to worker failed with HTTP status code 413' })
  })

  for (const workerStatus of [500, 502, 503, 504, 409, 422, 418]) {
    test(`worker ${workerStatus} -> relay 500, the worker's message not passed on`, async () => {
      status = workerStatus
      answer = JSON.stringify({ message: 'internal detail' })
      const result = await handle(activation(), answering())
      assert.equal(result.statusCode, 500)
      assert.deepEqual(result.body, { message: `forward to worker failed with HTTP status code ${workerStatus}` })
      assert.equal(logs.at(-1).relay, 'worker-error')
    })
  }

  test('a redirect is not followed: 500, and the redirect target receives nothing', async () => {
    const target = await startRecorder()
    const redirecting = await startRecorder((req, body, res) => { res.writeHead(307, { location: target.url }); res.end() })
    try {
      const result = await handle(activation(), deps({ workerUrl: redirecting.url }))
      assert.equal(result.statusCode, 500)
      assert.equal(redirecting.requests.length, 1)
      assert.equal(target.requests.length, 0)
    } finally {
      await Promise.all([target.close(), redirecting.close()])
    }
  })

  test('a worker that does not answer in time gives 500', async () => {
    // The stand-in never answers, so the outcome is the timeout whatever the machine's speed.
    const silent = await startRecorder(() => {})
    try {
      const result = await handle(activation(), deps({ workerUrl: silent.url, timeoutMs: 100 }))
      assert.equal(result.statusCode, 500)
      assert.deepEqual(result.body, { message: 'forward to worker timed out' })
      assert.equal(logs.at(-1).relay, 'timeout')
    } finally {
      await silent.close()
    }
  })

  test('a worker that cannot be reached gives 500', async () => {
    const gone = await startRecorder()
    await gone.close()
    const result = await handle(activation(), deps({ workerUrl: gone.url }))
    assert.equal(result.statusCode, 500)
    assert.deepEqual(result.body, { message: 'forward to worker failed' })
    assert.equal(logs.at(-1).relay, 'network')
  })

  test('a fetch that rejects gives 500', async () => {
    const result = await handle(activation(), deps({ fetch: async () => { throw new TypeError('boom') } }))
    assert.equal(result.statusCode, 500)
  })
})
