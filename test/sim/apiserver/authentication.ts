/**
 * Who sends a request: bearer tokens as kube-apiserver checks them. The kubeconfig k3d writes
 * authenticates as k3s's admin (system:admin in system:masters); static tokens stand for the
 * users of a shared cluster (`--token-auth-file`, or what an OIDC login yields); ServiceAccount
 * tokens come from the TokenRequest API (`kubectl create token`). A token that is unknown,
 * expired or revoked gets 401. Requests without credentials act as the admin: the fixtures and
 * fidelity tests talk to the simulator without a token (real k3s would answer 401).
 */
import {createHmac, randomBytes, randomUUID, timingSafeEqual} from 'node:crypto'
import type {IncomingMessage} from 'node:http'

import type {KubeObject} from './contract.js'
import {ApiError, invalid} from './errors.js'

export interface UserInfo {
  username: string
  uid?: string
  groups: string[]
  extra?: Record<string, string[]>
}

export const adminUser: UserInfo = {username: 'system:admin', groups: ['system:masters', 'system:authenticated']}

export function unauthorized(): ApiError {
  return new ApiError(401, 'Unauthorized', 'Unauthorized')
}

const issuer = 'https://kubernetes.default.svc.cluster.local'
const audiences = [issuer, 'k3s']
const minimumExpirationSeconds = 600

interface TokenClaims {
  iss: string
  sub: string
  aud: string[]
  exp: number
  iat: number
  nbf: number
  jti: string
  'kubernetes.io': {namespace: string; serviceaccount: {name: string; uid: string}}
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

export class Authenticator {
  private readonly staticTokens = new Map<string, UserInfo>()
  private readonly revoked = new Set<string>()
  private readonly signingKey = randomBytes(32)
  private readonly keyId = randomBytes(16).toString('base64url')

  constructor(
    private readonly adminToken: string | undefined,
    /** The ServiceAccount a token names, as stored now (a deleted or re-created one voids its tokens). */
    private readonly serviceAccount: (namespace: string, name: string) => KubeObject | undefined,
  ) {}

  addToken(token: string, user: {name: string; uid?: string; groups?: string[]}): void {
    this.revoked.delete(token)
    this.staticTokens.set(token, {username: user.name, ...(user.uid ? {uid: user.uid} : {}), groups: [...(user.groups ?? []), 'system:authenticated']})
  }

  revokeToken(token: string): void {
    this.revoked.add(token)
  }

  /** The request's user; throws 401 for a token that does not (or no longer) authenticate. */
  authenticate(request: IncomingMessage): UserInfo {
    const header = request.headers.authorization
    if (header === undefined) return adminUser
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
    const token = match?.[1]
    if (!token || this.revoked.has(token)) throw unauthorized()
    if (token === this.adminToken) return adminUser
    const user = this.staticTokens.get(token) ?? this.serviceAccountUser(token)
    if (!user) throw unauthorized()
    return user
  }

  /** TokenRequest (POST serviceaccounts/NAME/token): a signed token for the ServiceAccount. */
  issueToken(serviceAccount: KubeObject, request: unknown, now: Date): KubeObject {
    const spec = (request as {spec?: {expirationSeconds?: number; audiences?: string[]}} | undefined)?.spec ?? {}
    const expirationSeconds = spec.expirationSeconds ?? 3600
    const {name, namespace = '', uid = ''} = serviceAccount.metadata
    if (expirationSeconds < minimumExpirationSeconds) {
      throw invalid('TokenRequest', 'authentication.k8s.io', name, [
        {reason: 'FieldValueInvalid', field: 'spec.expirationSeconds', message: `Invalid value: ${expirationSeconds}: may not specify a duration less than 10 minutes`},
      ])
    }
    const issuedAt = Math.floor(now.getTime() / 1000)
    const claims: TokenClaims = {
      iss: issuer,
      sub: `system:serviceaccount:${namespace}:${name}`,
      aud: spec.audiences?.length ? spec.audiences : audiences,
      exp: issuedAt + expirationSeconds,
      iat: issuedAt,
      nbf: issuedAt,
      jti: randomUUID(),
      'kubernetes.io': {namespace, serviceaccount: {name, uid}},
    }
    // Real tokens are RS256-signed; an HMAC keeps the simulator free of key management.
    const unsigned = `${base64url({alg: 'HS256', kid: this.keyId})}.${base64url(claims)}`
    const token = `${unsigned}.${this.sign(unsigned)}`
    return {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: {name, namespace, creationTimestamp: null as unknown as string},
      spec: {audiences: claims.aud, expirationSeconds, boundObjectRef: null},
      status: {token, expirationTimestamp: new Date(claims.exp * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')},
    }
  }

  private sign(text: string): string {
    return createHmac('sha256', this.signingKey).update(text).digest('base64url')
  }

  private serviceAccountUser(token: string): UserInfo | undefined {
    const [header, payload, signature] = token.split('.')
    if (!header || !payload || !signature) return undefined
    const expected = Buffer.from(this.sign(`${header}.${payload}`))
    const given = Buffer.from(signature)
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as TokenClaims
    if (claims.exp * 1000 <= Date.now()) return undefined
    const {namespace, serviceaccount} = claims['kubernetes.io']
    const current = this.serviceAccount(namespace, serviceaccount.name)
    if (!current || current.metadata.uid !== serviceaccount.uid || current.metadata.deletionTimestamp) return undefined
    return {
      username: claims.sub,
      uid: serviceaccount.uid,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
      extra: {'authentication.kubernetes.io/credential-id': [`JTI=${claims.jti}`]},
    }
  }
}
