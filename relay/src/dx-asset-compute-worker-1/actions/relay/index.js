/*
 * Entry point of the `dx-asset-compute-worker-1/relay` web action.
 *
 * The worker URL and org id come from `pinned.js`, generated at build time by `scripts/pin.js` from `relay/.env`
 * (a `pre-app-build` hook), never from params: callers can override default params under `require-adobe-auth`.
 * Without the generated file the bundle does not build and the action cannot run.
 */
'use strict'

const { handle, DEFAULT_TIMEOUT_MS } = require('./relay.js')
const pinned = require('./pinned.js')

async function main (params) {
  return handle(params, {
    workerUrl: pinned.workerUrl,
    orgId: pinned.orgId,
    fetch: globalThis.fetch,
    now: Date.now,
    timeoutMs: DEFAULT_TIMEOUT_MS,
    // Read at entry, before any await: one activation per container at a time, and the local host sets it just
    // before calling main.
    activationId: process.env.__OW_ACTIVATION_ID
  })
}

exports.main = main
