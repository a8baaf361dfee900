// The exported policy as two onnxruntime sessions, in the shape the beam search wants. An encoder of format 3
// also runs the first decoder step (training/gflowgr/export.py): its logits answer level 0 without a decoder call.
import ort from 'onnxruntime-node'
import type { Policy } from '../decoding/beam-search.js'

/** Per batch: the encoder's outputs and the decoder's self-attention cache, carried between steps; first: level 0's
logits when the encoder computed them. */
export interface Encoded { crossKv: ort.Tensor, memoryBias: ort.Tensor, past: ort.Tensor, first: Float32Array | null }

export interface PolicyDims { width: number, levels: number, layers: number, heads: number, headDim: number }

export class OnnxPolicy implements Policy<Encoded> {
  readonly width: number
  private readonly encoderRunsFirstStep: boolean
  private constructor (private readonly encoder: ort.InferenceSession, private readonly decoder: ort.InferenceSession,
    private readonly dims: PolicyDims) {
    this.width = dims.width
    this.encoderRunsFirstStep = encoder.outputNames.includes('logits')
  }

  static async load (encoderFile: string, decoderFile: string, threads: number, dims: PolicyDims): Promise<OnnxPolicy> {
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
    return new OnnxPolicy(encoder, decoder, dims)
  }

  async encode (historyTokens: BigInt64Array, batch: number, length: number, userTokens: BigInt64Array): Promise<Encoded> {
    const out = await this.encoder.run({
      history_tokens: new ort.Tensor('int64', historyTokens, [batch, length, this.dims.levels]),
      user_token: new ort.Tensor('int64', userTokens, [batch])
    })
    if (this.encoderRunsFirstStep) {
      return { crossKv: out.cross_kv, memoryBias: out.memory_bias, past: out.present, first: out.logits.data as Float32Array }
    }
    const { layers, heads, headDim } = this.dims
    const past = new ort.Tensor('float32', new Float32Array(0), [layers, 2, batch, 1, heads, 0, headDim])
    return { crossKv: out.cross_kv, memoryBias: out.memory_bias, past, first: null }
  }

  /** At level 0 the beam search passes BOS, one beam per request: what the encoder's first step computed. */
  async step (encoded: Encoded, tokens: BigInt64Array, parents: BigInt64Array, batch: number, beams: number, level: number): Promise<Float32Array> {
    if (level === 0 && encoded.first !== null) return encoded.first
    const out = await this.decoder.run({
      token: new ort.Tensor('int64', tokens, [batch, beams]),
      parent: new ort.Tensor('int64', parents, [batch, beams]),
      past: encoded.past,
      cross_kv: encoded.crossKv,
      memory_bias: encoded.memoryBias,
      level: new ort.Tensor('int64', BigInt64Array.of(BigInt(level)), [])
    })
    encoded.past = out.present
    return out.logits.data as Float32Array
  }

  async release (): Promise<void> {
    await Promise.all([this.encoder.release(), this.decoder.release()])
  }
}
