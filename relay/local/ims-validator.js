/*
 * The local stand-in for Adobe's `require-adobe-auth` validator: is the bearer token an IMS access token signed
 * by a key of the (local) IMS key set, and is it within its lifetime?
 *
 * IMS access tokens are RS256 JWTs whose lifetime is `created_at` + `expires_in`, both milliseconds as strings
 * (local_platform/ims.py issues the same shape). The real validator also asks Adobe's App Registry whether the
 * action belongs to the token's org; locally the relay's own pinned-org check is what stands in for that.
 */
'use strict'

const crypto = require('node:crypto')

// Tolerance for a token whose created_at is slightly ahead of this clock.
const CREATED_AT_LEEWAY_MS = 60 * 1000

class InvalidToken extends Error {}

function decodeSegment (segment) {
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
  } catch {
    throw new InvalidToken('malformed token')
  }
}

function millis (value, name) {
  // IMS sends these as strings of digits; accept numbers too, nothing else.
  if (typeof value === 'number' && Number.isFinite(value)) return value
  if (typeof value === 'string' && /^[0-9]{1,16}$/.test(value)) return Number(value)
  throw new InvalidToken(`token ${name} missing or malformed`)
}

/**
 * Verify an `Authorization` header value. Returns the token's claims; throws InvalidToken otherwise.
 *
 * @param {string|undefined} authorization  the header, `Bearer <jwt>`
 * @param {object} deps
 * @param {(refresh: boolean) => Promise<{keys: object[]}>} deps.jwks  the key set (refresh=true: fetch again)
 * @param {() => number} deps.now  clock in milliseconds
 */
async function verifyImsToken (authorization, { jwks, now }) {
  const match = /^Bearer\s+([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/i.exec(authorization || '')
  if (!match) throw new InvalidToken('missing or malformed bearer token')
  const [, headerPart, payloadPart, signaturePart] = match
  const header = decodeSegment(headerPart)
  const claims = decodeSegment(payloadPart)
  // Only RS256: never let the token choose a weaker or keyless algorithm.
  if (header.alg !== 'RS256') throw new InvalidToken('unsupported token algorithm')

  const findKey = (set) => (set && Array.isArray(set.keys) ? set.keys : [])
    .find((k) => k.kty === 'RSA' && (header.kid === undefined || k.kid === header.kid))
  // A kid we have not seen may be a rotated key: fetch the set once more before failing.
  const jwk = findKey(await jwks(false)) || findKey(await jwks(true))
  if (!jwk) throw new InvalidToken('unknown signing key')

  let publicKey
  try {
    publicKey = crypto.createPublicKey({ key: jwk, format: 'jwk' })
  } catch {
    throw new InvalidToken('unusable signing key')
  }
  const signed = Buffer.from(`${headerPart}.${payloadPart}`, 'ascii')
  const signature = Buffer.from(signaturePart, 'base64url')
  if (!crypto.verify('sha256', signed, publicKey, signature)) throw new InvalidToken('bad token signature')

  if (claims.type !== undefined && claims.type !== 'access_token') throw new InvalidToken('not an access token')
  const createdAt = millis(claims.created_at, 'created_at')
  const expiresIn = millis(claims.expires_in, 'expires_in')
  const at = now()
  if (createdAt > at + CREATED_AT_LEEWAY_MS) throw new InvalidToken('token not yet valid')
  if (at >= createdAt + expiresIn) throw new InvalidToken('token expired')
  return claims
}

/** A key-set source for verifyImsToken: fetches `url` once and again only when asked to refresh. */
function jwksFromUrl (url, fetch = globalThis.fetch) {
  let cached
  return async (refresh) => {
    if (!cached || refresh) {
      const response = await fetch(url, { redirect: 'error' })
      if (!response.ok) throw new Error(`JWKS fetch failed with HTTP status code ${response.status}`)
      cached = await response.json()
    }
    return cached
  }
}

module.exports = { verifyImsToken, jwksFromUrl, InvalidToken }
