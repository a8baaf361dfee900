// Prometheus metrics of the service.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export class Metrics {
  readonly registry = new Registry()
  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry]
  })

  readonly batchSize = new Histogram({
    name: 'inference_batch_size',
    help: 'Requests per inference batch',
    labelNames: ['model'] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers: [this.registry]
  })

  readonly inferenceDuration = new Histogram({
    name: 'inference_batch_duration_seconds',
    help: 'Time a worker spent on one batch (encoder, decoder steps and search)',
    labelNames: ['model'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry]
  })

  readonly queueDepth = new Gauge({ name: 'inference_queue_depth', help: 'Requests waiting for a worker', labelNames: ['model'] as const, registers: [this.registry] })
  readonly historyStoreErrors = new Counter({ name: 'history_store_errors_total', help: 'Failed history store operations', registers: [this.registry] })
  readonly inferenceErrors = new Counter({ name: 'inference_errors_total', help: 'Failed inference batches, worker crashes and replaced workers', labelNames: ['model'] as const, registers: [this.registry] })
  readonly recommendations = new Counter({
    name: 'recommendations_total',
    help: 'Answered recommendation requests by the model and version that answered, and the strategy',
    labelNames: ['model', 'version', 'strategy'] as const,
    registers: [this.registry]
  })

  readonly modelReloads = new Counter({ name: 'model_reloads_total', help: 'Model reloads by outcome', labelNames: ['model', 'outcome'] as const, registers: [this.registry] })
  readonly inferenceDropped = new Counter({
    name: 'inference_dropped_total',
    help: 'Requests not computed: refused at admission (overloaded), past their deadline (timeout), or whose client went away (client_gone)',
    labelNames: ['model', 'reason'] as const,
    registers: [this.registry]
  })

  readonly catalogueItems = new Gauge({ name: 'catalogue_items', help: 'Items of each model\'s catalogue by state', labelNames: ['model', 'state'] as const, registers: [this.registry] })
  readonly catalogueVersion = new Gauge({ name: 'catalogue_version', help: 'Version of the shared catalogue state this replica applies', registers: [this.registry] })

  readonly exportsFailed = new Counter({ name: 'events_export_failures_total', help: 'Event exports cut short by a store failure', registers: [this.registry] })

  readonly httpErrors = new Counter({ name: 'http_errors_total', help: 'Error responses by code', labelNames: ['code'] as const, registers: [this.registry] })

  constructor () {
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 1 }) // 1 ms: lag readings include the sampling interval
  }
}
