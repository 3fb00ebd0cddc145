/** One simulated cluster's Kubernetes API server; see contract.ts for the interface the daemon uses. */
import {SimulatedCluster} from './cluster.js'
import type {CreateApiServer} from './contract.js'
import {servingCertificate} from './tls.js'

export {createClock} from './clock.js'
export {loadScenario, parseScenario, ScenarioError, type Scenario} from './scenario.js'
export type {ApiFault, ApiServer, ApiServerOptions, CreateApiServer, KubeObject, NodeSpec, SimClock} from './contract.js'

export const createApiServer: CreateApiServer = async (options) => {
  const cluster = new SimulatedCluster(options, await servingCertificate())
  await cluster.start()
  return cluster
}
