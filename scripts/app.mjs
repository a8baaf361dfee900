// The service's app built in-process on the shipped default model with an in-memory store (for the scripts
// that document it: openapi.json, the README examples). Needs `npm run build` first.
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const dist = (...parts) => import(path.join(root, 'dist', 'src', ...parts))

export async function openApp () {
  const { buildApp } = await dist('app.js')
  const { loadConfig } = await dist('config.js')
  const { openService } = await dist('service.js')
  const config = loadConfig({ MODEL_DIR: path.join(root, 'models', 'beauty-gflowgr'), WORKERS: '1' })
  const service = await openService(config)
  const app = await buildApp({ config, registry: service.registry, store: service.store, metrics: service.metrics, sync: service.sync }, { logger: false })
  await app.ready()
  return { app, close: async () => { await app.close(); await service.close() } }
}
