// The exported policy as two onnxruntime sessions, in the shape the beam search wants.
import ort from 'onnxruntime-node'
import type { Policy } from '../decoding/beam-search.js'

export interface Encoded { crossKv: ort.Tensor, memoryBias: ort.Tensor }

export class OnnxPolicy implements Policy<Encoded> {
  private constructor (private readonly encoder: ort.InferenceSession, private readonly decoder: ort.InferenceSession,
    readonly width: number, private readonly levels: number) {}

  static async load (encoderFile: string, decoderFile: string, threads: number, width: number, levels: number): Promise<OnnxPolicy> {
    const options: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all'
    }
    const [encoder, decoder] = await Promise.all([
      ort.InferenceSession.create(encoderFile, options),
      ort.InferenceSession.create(decoderFile, options)
    ])
    return new OnnxPolicy(encoder, decoder, width, levels)
  }

  async encode (historyTokens: BigInt64Array, batch: number, length: number, userTokens: BigInt64Array): Promise<Encoded> {
    const out = await this.encoder.run({
      history_tokens: new ort.Tensor('int64', historyTokens, [batch, length, this.levels]),
      user_token: new ort.Tensor('int64', userTokens, [batch])
    })
    return { crossKv: out.cross_kv, memoryBias: out.memory_bias }
  }

  async step (encoded: Encoded, prefix: BigInt64Array, beams: number, prefixLength: number, beamIndex: BigInt64Array, level: number): Promise<Float32Array> {
    const out = await this.decoder.run({
      prefix_tokens: new ort.Tensor('int64', prefix, [beams, prefixLength]),
      beam_index: new ort.Tensor('int64', beamIndex, [beams]),
      cross_kv: encoded.crossKv,
      memory_bias: encoded.memoryBias,
      level: new ort.Tensor('int64', BigInt64Array.of(BigInt(level)), [])
    })
    return out.logits.data as Float32Array
  }

  async release (): Promise<void> {
    await Promise.all([this.encoder.release(), this.decoder.release()])
  }
}
