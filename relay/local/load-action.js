/*
 * Loads a copy of the deployable action with its own pins, for the local host and the tests.
 *
 * The deployed bundle is `actions/relay/*.js` with a build-time `pinned.js`; here the same files are copied into
 * `<dir>/relay/` next to a `pinned.js` written by the same generator (scripts/pin.js), then required. So the code
 * path is the deployed one, and the pins in the source tree (relay/.env, for `aio app deploy`) are left alone.
 */
'use strict'

const fs = require('node:fs')
const path = require('node:path')
const { ACTION_DIR, writePinned } = require('../scripts/pin.js')

function loadPinnedAction ({ dir, workerUrl, orgId }) {
  const target = path.join(dir, 'relay')
  fs.mkdirSync(target, { recursive: true })
  for (const name of fs.readdirSync(ACTION_DIR)) {
    if (name.endsWith('.js') && name !== 'pinned.js') {
      fs.copyFileSync(path.join(ACTION_DIR, name), path.join(target, name))
    }
  }
  writePinned(path.join(target, 'pinned.js'), { workerUrl, orgId })
  return require(path.join(target, 'index.js'))
}

module.exports = { loadPinnedAction }
