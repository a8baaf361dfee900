// Every named schema of the API, built once per app from the configuration and the loaded model. They are
// registered with addSchema (components of the OpenAPI document) and given to the validator, so that
// routes can refer to them with ref().
import type { Config } from '../config.js'
import type { Manifest } from '../model/manifest.js'
import { ErrorResponse, catalogueItemSchema, ids } from './common.js'
import { healthSchemas } from './health.js'
import { modelSchemas } from './model.js'
import { recommendationSchemas, type Examples } from './recommendations.js'
import { userSchemas } from './users.js'

export function apiSchemas (config: Config, manifest: Manifest, modelNames: string[], examples: Examples) {
  const recommendations = recommendationSchemas(config, manifest.decoding.defaultBeamWidth, modelNames, examples)
  const users = userSchemas(config, examples)
  const model = modelSchemas(manifest)
  const health = healthSchemas()
  const CatalogueItem = catalogueItemSchema(examples.items[0] === undefined ? undefined : { ...examples.items[0], available: true, source: 'export' })
  const named = [
    ErrorResponse, CatalogueItem,
    recommendations.RecommendationRequest, recommendations.RecommendedItem, recommendations.Recommendation,
    users.EventInput, users.Event, users.EventsRequest, users.HistoryRequest, users.EventsResponse, users.History,
    model.ModelInfo, model.ModelList, health.Health
  ]
  return { CatalogueItem, ids: ids(config.maxIdLength, examples.history[0]), recommendations, users, model, health, examples, named }
}

export type ApiSchemas = ReturnType<typeof apiSchemas>
