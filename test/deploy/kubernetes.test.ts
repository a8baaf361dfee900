// deploy/kubernetes: every manifest validates against the Kubernetes schemas (kubernetes-models, generated
// from the Kubernetes OpenAPI specification), and the manifests agree with each other and with the service.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parseAllDocuments, parse } from 'yaml'
import { ConfigMap, Service } from 'kubernetes-models/v1'
import { Deployment } from 'kubernetes-models/apps/v1'
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1'
import { loadConfig } from '../../src/config.js'

const dir = path.resolve(process.cwd(), 'deploy', 'kubernetes')
const MODELS: Record<string, new (data: any) => { validate: () => void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget
}

function manifests (): Map<string, any> {
  const byKind = new Map<string, any>()
  for (const file of readdirSync(dir).filter(f => f.endsWith('.yaml') && f !== 'kustomization.yaml')) {
    for (const doc of parseAllDocuments(readFileSync(path.join(dir, file), 'utf8'))) {
      const object = doc.toJS()
      byKind.set(object.kind, { ...object, file })
    }
  }
  return byKind
}

test('every manifest validates against the Kubernetes schemas, and kustomization.yaml lists them all', () => {
  const all = manifests()
  assert.deepEqual([...all.keys()].sort(), ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Service'])
  for (const [kind, object] of all) {
    const Model = MODELS[`${String(object.apiVersion)}/${kind}`]
    assert.ok(Model !== undefined, `${String(object.file)}: no schema for ${String(object.apiVersion)} ${kind}`)
    const { file, ...manifest } = object
    assert.doesNotThrow(() => new Model(manifest).validate(), `${String(file)} does not validate`)
  }
  const kustomization = parse(readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8'))
  assert.deepEqual([...kustomization.resources].sort(), [...new Set([...all.values()].map(o => o.file))].sort())
})

test('an invalid manifest is refused by the validator (it can fail)', () => {
  const deployment = structuredClone(manifests().get('Deployment'))
  deployment.spec.template.spec.containers[0].ports[0].containerPort = 'http'
  assert.throws(() => new Deployment(deployment).validate())
})

test('the manifests agree with each other and with the service', async () => {
  const all = manifests()
  const deployment = all.get('Deployment')
  const pod = deployment.spec.template
  const labels = pod.metadata.labels
  const matches = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v)
  assert.ok(matches(deployment.spec.selector.matchLabels))
  assert.ok(matches(all.get('Service').spec.selector))
  assert.ok(matches(all.get('PodDisruptionBudget').spec.selector.matchLabels))
  assert.equal(all.get('HorizontalPodAutoscaler').spec.scaleTargetRef.name, deployment.metadata.name)

  const [container] = pod.spec.containers
  const port = container.ports.find((p: { name: string }) => p.name === 'http').containerPort
  const config = all.get('ConfigMap').data
  const service = loadConfig({ ...config, PORT: String(port) }) // every value is one the service accepts
  const paths = Object.keys(JSON.parse(readFileSync(path.resolve(process.cwd(), 'openapi.json'), 'utf8')).paths)
  for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
    assert.ok(container[probe] !== undefined, `${probe} is missing`)
    assert.ok(paths.includes(container[probe].httpGet.path), `${probe}: ${String(container[probe].httpGet.path)} is not a route`)
    assert.equal(container[probe].httpGet.port, 'http')
  }
  assert.equal(container.readinessProbe.httpGet.path, '/readyz')
  assert.equal(container.livenessProbe.httpGet.path, '/healthz')
  const preStop = Number(container.lifecycle.preStop.exec.command.at(-1))
  assert.ok(pod.spec.terminationGracePeriodSeconds >= preStop + service.shutdownTimeoutMs / 1000,
    `terminationGracePeriodSeconds ${String(pod.spec.terminationGracePeriodSeconds)} must cover preStop ${preStop} s + SHUTDOWN_TIMEOUT_MS ${service.shutdownTimeoutMs} ms`)
  assert.equal(service.workers, Number(container.resources.requests.cpu), 'one inference worker per requested core')
  assert.equal(service.redis?.mode, 'cluster')
  assert.equal(container.securityContext.readOnlyRootFilesystem, true)
  assert.equal(pod.spec.securityContext.runAsNonRoot, true)
})
