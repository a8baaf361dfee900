// The service's app built in-process on the shipped default model with an in-memory store (for the scripts
// that document it: openapi.json, the README examples). Needs `npm run build` first.
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const dist = (...parts) => import(path.join(root, 'dist', 'src', ...parts))

export async function openApp () {
  const { buildApp } = await dist('app.js')
  const { loadConfig } = await dist('config.js')
  const { Metrics } = await dist('metrics.js')
  const { MemoryHistoryStore } = await dist('history', 'memory.js')
  const { Recommender, poolOptions } = await dist('model', 'recommender.js')
  const { ModelRegistry } = await dist('model', 'registry.js')
  const config = loadConfig({ MODEL_DIR: path.join(root, 'models', 'beauty-gflowgr'), WORKERS: '1' })
  const metrics = new Metrics()
  const registry = await ModelRegistry.open(config.models, config.modelSplit, async (dir, name) => await Recommender.load(dir, poolOptions(config, metrics, undefined, name)))
  const app = await buildApp({ config, registry, store: new MemoryHistoryStore({ maxEvents: 200, ttlSeconds: 3600 }, 10), metrics }, { logger: false })
  await app.ready()
  return { app, close: async () => { await app.close(); await registry.close() } }
}
