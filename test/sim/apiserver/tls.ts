/**
 * A self-signed certificate for 127.0.0.1, made once per process with the openssl CLI, for the
 * API's HTTPS listener. Go clients (kubectl, helm) send a kubeconfig user's credentials only over
 * TLS, so acting as a user other than the admin needs it.
 */
import {execFile} from 'node:child_process'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'

export interface ServingCertificate {
  key: string
  cert: string
}

let made: Promise<ServingCertificate> | undefined

async function make(): Promise<ServingCertificate> {
  const directory = await mkdtemp(join(tmpdir(), 'sim-tls-'))
  try {
    const [key, cert] = [join(directory, 'key.pem'), join(directory, 'cert.pem')]
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '3650',
      '-subj',
      '/O=k3s/CN=k3s',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc',
      '-keyout',
      key,
      '-out',
      cert,
    ])
    return {key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8')}
  } finally {
    await rm(directory, {recursive: true, force: true})
  }
}

export function servingCertificate(): Promise<ServingCertificate> {
  made ??= make()
  return made
}
