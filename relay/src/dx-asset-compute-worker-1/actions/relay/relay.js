/*
 * The relay's core: turn one Asset Compute web-action activation into one signed HTTPS POST to the Azure intake,
 * and answer the way the Asset Compute SDK's web action does (200 {activationId}). A refusal of the worker's own
 * (400/401/403/404/405/413/415/429) is passed on with its status and its `message`, so AEM and its operators see
 * why; 500 is left for the worker's 5xx, anything unexpected, network errors and the timeout.
 *
 * Everything the outside world could influence arrives in `params`; everything that decides where the job goes
 * and whom it is for (worker URL, org id) arrives in `deps`, pinned at build time. Under `require-adobe-auth`
 * the `final` annotation has no effect, so any body or query field can override a default param: nothing here
 * may take a destination, an org or a switch from `params`. The HMAC key is the one exception: an overridden key
 * only produces signatures the worker rejects.
 *
 * No dependencies: Node's own fetch, AbortController and crypto.
 */
'use strict'

const crypto = require('node:crypto')

// What the SDK's web action passes on to processing, minus the New Relic credentials (Adobe-internal metrics
// keys the Azure worker has no use for). Anything else in the body is dropped.
const FORWARDED_BODY_FIELDS = Object.freeze(['source', 'renditions', 'userData', 'times'])

// Always forwarded (when present) / forwarded only when present; the worker reads them as the SDK does.
const FORWARDED_HEADERS = Object.freeze(['authorization', 'x-gw-ims-org-id', 'x-request-id'])
const OPTIONAL_HEADERS = Object.freeze(['x-gw-ims-org-name', 'x-app-name'])

const TIMESTAMP_HEADER = 'x-relay-timestamp'
const SIGNATURE_HEADER = 'x-relay-signature'
const ACTIVATION_HEADER = 'x-relay-activation-id'

// The worker's settings demand at least this much key; refusing shorter keys here surfaces a bad deploy at once.
const MIN_KEY_LENGTH = 32

// Worker refusals passed on as they are: the caller's fault (or the worker's back-off), worth telling AEM.
const PASSED_THROUGH_STATUSES = Object.freeze([400, 401, 403, 404, 405, 413, 415, 429])
// The worker's refusals are a short `{"message": "..."}`; read no more than this of its answer, pass on no more
// than MAX_MESSAGE_LENGTH characters of the message, and nothing else from it.
const MAX_ERROR_BODY_BYTES = 16384
const MAX_MESSAGE_LENGTH = 500

// Blocking web actions (validator + relay) die at 60 s; leave room for the validator and the reply.
const DEFAULT_TIMEOUT_MS = 40000

/**
 * The signature the worker checks: HMAC-SHA256 over `<timestamp>.<request id>.<exact body bytes>`.
 * The request id is inside the MAC so a signed body cannot be replayed under another job's id.
 */
function sign (key, timestamp, requestId, bodyBytes) {
  const mac = crypto.createHmac('sha256', Buffer.from(key, 'utf8'))
  mac.update(`${timestamp}.${requestId}.`, 'utf8')
  mac.update(bodyBytes)
  return `sha256=${mac.digest('hex')}`
}

/** The forwarded body: exactly the allow-listed fields that are present, serialised once (these bytes are signed). */
function forwardedBody (params) {
  const job = {}
  for (const field of FORWARDED_BODY_FIELDS) {
    if (Object.prototype.hasOwnProperty.call(params, field) && params[field] !== undefined) {
      job[field] = params[field]
    }
  }
  return Buffer.from(JSON.stringify(job), 'utf8')
}

/** At most `limit` bytes of a fetch response's body; the rest is not read (the stream is cancelled). */
async function readBounded (response, limit) {
  if (!response.body) return Buffer.alloc(0)
  const reader = response.body.getReader()
  const chunks = []
  let size = 0
  try {
    while (size < limit) {
      const { done, value } = await reader.read()
      if (done) break
      chunks.push(value)
      size += value.length
    }
  } finally {
    reader.cancel().catch(() => {})
  }
  return Buffer.concat(chunks).subarray(0, limit)
}

/**
 * The worker's `message` from its JSON answer: a string, control characters removed, cut to MAX_MESSAGE_LENGTH;
 * undefined when the answer is not `{"message": "<string>"}`. Nothing else of the answer is passed on.
 */
function workerMessage (bodyBytes) {
  let parsed
  try {
    parsed = JSON.parse(bodyBytes.toString('utf8'))
  } catch {
    return undefined
  }
  if (!parsed || typeof parsed !== 'object' || typeof parsed.message !== 'string') return undefined
  // eslint-disable-next-line no-control-regex
  const message = parsed.message.replace(/[\u0000-\u001f\u007f]/g, ' ').trim().slice(0, MAX_MESSAGE_LENGTH)
  return message || undefined
}

function reply (statusCode, body) {
  return { statusCode, headers: { 'content-type': 'application/json' }, body }
}

function headerValue (headers, name) {
  const value = headers[name]
  return typeof value === 'string' && value.length > 0 ? value : undefined
}

/**
 * Handle one activation.
 *
 * @param {object} params  OpenWhisk web-action params (`__ow_method`, `__ow_headers`, body fields, default params)
 * @param {object} deps
 * @param {string} deps.workerUrl   pinned Azure intake URL
 * @param {string} deps.orgId       pinned IMS org id of this environment's AEM
 * @param {Function} deps.fetch     WHATWG fetch
 * @param {Function} deps.now       clock, milliseconds since the epoch
 * @param {number} [deps.timeoutMs] budget for the whole exchange with the worker
 * @param {string} [deps.activationId] this activation's id (process.env.__OW_ACTIVATION_ID)
 * @param {Function} [deps.log]     receives one plain object per activation; never given a secret
 */
async function handle (params, deps) {
  const { workerUrl, orgId, fetch, now } = deps
  const timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const activationId = deps.activationId ?? null
  const log = deps.log ?? ((entry) => console.log(JSON.stringify(entry)))
  const headers = (params && typeof params.__ow_headers === 'object' && params.__ow_headers) || {}
  const requestId = headerValue(headers, 'x-request-id') ?? ''
  const done = (outcome, response, extra = {}) => {
    log({ relay: outcome, requestId, activationId, status: response.statusCode, ...extra })
    return response
  }

  if (params.__ow_method !== 'post') {
    return done('method', reply(405, { message: 'Supported HTTP methods: OPTIONS, POST' }))
  }
  if (!headerValue(headers, 'authorization')) {
    return done('unauthenticated', reply(401, { message: 'Missing Oauth token' }))
  }
  const key = params.RELAY_HMAC_KEY
  if (!workerUrl || !orgId || typeof key !== 'string' || key.length < MIN_KEY_LENGTH) {
    // A deploy without pins or key: refuse rather than forward unsigned or to nowhere.
    return done('unconfigured', reply(500, { message: 'relay is not configured' }))
  }
  if (headerValue(headers, 'x-gw-ims-org-id') !== orgId) {
    return done('wrong-org', reply(403, { message: 'organization not allowed' }))
  }

  const body = forwardedBody(params)
  const timestamp = String(Math.floor(now() / 1000))
  const outgoing = {
    'content-type': 'application/json',
    [TIMESTAMP_HEADER]: timestamp,
    [SIGNATURE_HEADER]: sign(key, timestamp, requestId, body)
  }
  for (const name of [...FORWARDED_HEADERS, ...OPTIONAL_HEADERS]) {
    const value = headerValue(headers, name)
    if (value !== undefined) outgoing[name] = value
  }
  if (activationId) outgoing[ACTIVATION_HEADER] = activationId

  const abort = new AbortController()
  const timer = setTimeout(() => abort.abort(), timeoutMs)
  let status
  let answer = Buffer.alloc(0)
  try {
    // redirect 'manual': a redirect would carry the token and a valid signature to another host.
    const response = await fetch(workerUrl, {
      method: 'POST',
      headers: outgoing,
      body,
      redirect: 'manual',
      signal: abort.signal
    })
    status = response.status
    // Read (inside the budget, bounded) so the socket is released and a refusal's message can be passed on; a
    // failed read is ignored: a 2xx means the worker has the job, and a refusal keeps its status.
    answer = await readBounded(response, MAX_ERROR_BODY_BYTES).catch(() => Buffer.alloc(0))
  } catch (err) {
    const timedOut = abort.signal.aborted
    // err.name/code only: messages of network errors can echo the URL, which is harmless, but stay terse.
    return done(timedOut ? 'timeout' : 'network', reply(500, {
      message: timedOut ? 'forward to worker timed out' : 'forward to worker failed'
    }), { error: (err && (err.cause?.code || err.code || err.name)) || 'Error', workerStatus: status ?? null })
  } finally {
    clearTimeout(timer)
  }

  if (status >= 200 && status < 300) {
    return done('forwarded', reply(200, { activationId }), { workerStatus: status })
  }
  const fallback = `forward to worker failed with HTTP status code ${status}`
  if (PASSED_THROUGH_STATUSES.includes(status)) {
    return done('worker-refused', reply(status, { message: workerMessage(answer) ?? fallback }), { workerStatus: status })
  }
  return done('worker-error', reply(500, { message: fallback }), { workerStatus: status })
}

module.exports = {
  handle,
  sign,
  forwardedBody,
  DEFAULT_TIMEOUT_MS,
  FORWARDED_BODY_FIELDS,
  MIN_KEY_LENGTH,
  MAX_MESSAGE_LENGTH,
  PASSED_THROUGH_STATUSES,
  TIMESTAMP_HEADER,
  SIGNATURE_HEADER,
  ACTIVATION_HEADER
}
