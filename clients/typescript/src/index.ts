// A typed client of the recommender's REST API: openapi-fetch over the types that openapi-typescript
// generates from the service's OpenAPI document (src/schema.ts; regenerate with `npm run generate`).
// Every path, parameter, body and response is typed; errors come back typed as the service's Error.
import createFetchClient, { type Client, type ClientOptions } from 'openapi-fetch'
import type { components, paths } from './schema.js'

export type { components, paths }
export type Schemas = components['schemas']
export type Recommendation = Schemas['Recommendation']
export type RecommendationRequest = Schemas['RecommendationRequest']
export type RecommendedItem = Schemas['RecommendedItem']
export type CatalogueItem = Schemas['CatalogueItem']
export type EventInput = Schemas['EventInput']
export type History = Schemas['History']
export type ApiError = Schemas['Error']

export interface RecommenderClientOptions extends ClientOptions {
  /** Sent as x-api-key when the service has API_KEYS set. */
  apiKey?: string
}

/**
 * const api = createRecommenderClient({ baseUrl: 'https://recs.example.com' })
 * const { data, error } = await api.POST('/v1/recommendations', { body: { history: ['B004756YJA'], k: 5 } })
 */
export function createRecommenderClient ({ apiKey, headers, ...options }: RecommenderClientOptions = {}): Client<paths> {
  return createFetchClient<paths>({
    ...options,
    headers: { ...(apiKey !== undefined && { 'x-api-key': apiKey }), ...(headers as Record<string, string> | undefined) }
  })
}
