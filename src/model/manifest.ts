// Reads models/<name>/manifest.json, refuses what it does not understand, and verifies every checksum.
import { createHash } from 'node:crypto'
import { readFileSync, existsSync } from 'node:fs'
import path from 'node:path'
import { ModelLoadError } from '../errors.js'
import { USER_HASH_NAME } from './user-hash.js'

/** 1: the policy and its catalogue; 2: adds an optional content encoder for new items (tokenizer); 3: the encoder
also runs the first decoder step (outputs logits and present). */
export const SUPPORTED_FORMAT_VERSIONS = [1, 2, 3]

export interface TensorSpec { name: string, dtype: string, shape: Array<string | number> }
export interface GraphSpec { file: string, sha256: string, inputs: TensorSpec[], outputs: TensorSpec[] }

export interface Manifest {
  formatVersion: number
  name: string
  version: string
  createdAt: string
  dataset: { name: string, kind: string, split: string, users: number, items: number }
  semanticIds: { levels: number, codebookSizes: number[] }
  tokens: { pad: number, bos: number, levelOffsets: number[], userOffset: number, userBuckets: number, anonymousUserToken: number, vocabSize: number }
  userHash: { name: string }
  maxHistory: number
  decoding: { defaultBeamWidth: number }
  onnx: { encoder: GraphSpec, decoder: GraphSpec }
  onnxDims: { layers: number, heads: number, head_dim: number }
  catalogue: { file: string, sha256: string, items: number, hasCategories: boolean }
  parity: { file: string, sha256: string, requests: number }
  tokenizer?: { file: string, sha256: string, arrays: { file: string, sha256: string }, parity: { file: string, sha256: string, texts: number } }
  weights?: { dtype: string } // absent: float32; int8 from gflowgr.reexport --int8
  metrics: Record<string, unknown>
  training: Record<string, unknown>
}

/** What the beam search needs of the token layout. */
export function tokenLayout (m: Manifest): { pad: number, bos: number, levelOffsets: number[], maxHistory: number } {
  return { pad: m.tokens.pad, bos: m.tokens.bos, levelOffsets: m.tokens.levelOffsets, maxHistory: m.maxHistory }
}

/** The shapes the ONNX policy needs: logits width, levels and the decoder cache's dimensions. */
export function policyDims (m: Manifest): { width: number, levels: number, layers: number, heads: number, headDim: number } {
  return { width: Math.max(...m.semanticIds.codebookSizes), levels: m.semanticIds.levels, layers: m.onnxDims.layers, heads: m.onnxDims.heads, headDim: m.onnxDims.head_dim }
}

const ENCODER_IO = (formatVersion: number) => ({ inputs: ['history_tokens', 'user_token'],
  outputs: ['cross_kv', 'memory_bias', ...(formatVersion >= 3 ? ['logits', 'present'] : [])] })
const DECODER_IO = { inputs: ['token', 'parent', 'past', 'cross_kv', 'memory_bias', 'level'], outputs: ['logits', 'present'] }

function fail (file: string, message: string): never {
  throw new ModelLoadError(file, message)
}

export function sha256File (file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex')
}

function checkGraph (manifestFile: string, name: string, spec: GraphSpec | undefined, io: { inputs: string[], outputs: string[] }): void {
  if (spec === undefined || typeof spec.file !== 'string') fail(manifestFile, `onnx.${name} is missing`)
  const names = (list: TensorSpec[] | undefined) => (list ?? []).map(t => t.name).join(',')
  if (names(spec.inputs) !== io.inputs.join(',') || names(spec.outputs) !== io.outputs.join(',')) {
    fail(manifestFile, `onnx.${name} has inputs [${names(spec.inputs)}] and outputs [${names(spec.outputs)}]; ` +
      `this service understands inputs [${io.inputs.join(',')}] and outputs [${io.outputs.join(',')}]`)
  }
}

function checkFile (dir: string, entry: { file: string, sha256: string }, what: string): string {
  const file = path.join(dir, entry.file)
  if (!existsSync(file)) fail(file, `${what} named in manifest.json does not exist`)
  const actual = sha256File(file)
  if (actual !== entry.sha256) fail(file, `checksum mismatch: manifest.json says sha256 ${entry.sha256}, the file has ${actual}`)
  return file
}

/** The model's own name (manifest.json's name), read without loading or checking anything else; null when unreadable. */
export function manifestName (dir: string): string | null {
  try {
    const name = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')).name
    return typeof name === 'string' ? name : null
  } catch {
    return null
  }
}

/** tokenizer: the content encoder's files, when the model has one (new items get semantic IDs from their text). */
export interface ModelFiles {
  manifest: Manifest, encoder: string, decoder: string, catalogue: string, parity: string
  tokenizer?: { json: string, arrays: string, parity: string }
}

export function loadManifest (dir: string): ModelFiles {
  const manifestFile = path.join(dir, 'manifest.json')
  if (!existsSync(manifestFile)) fail(manifestFile, 'not found (MODEL_DIR or MODELS must name a model directory exported by training/)')
  let m: Manifest
  try {
    m = JSON.parse(readFileSync(manifestFile, 'utf8'))
  } catch (e) {
    fail(manifestFile, `not valid JSON (${(e as Error).message})`)
  }
  if (!SUPPORTED_FORMAT_VERSIONS.includes(m.formatVersion)) {
    fail(manifestFile, `formatVersion ${String(m.formatVersion)} is not supported (this service reads versions ${SUPPORTED_FORMAT_VERSIONS.join(' and ')})`)
  }
  const levels = m.semanticIds?.levels
  if (!Number.isInteger(levels) || levels < 1 || m.semanticIds.codebookSizes?.length !== levels) fail(manifestFile, 'semanticIds.levels and codebookSizes disagree')
  if (m.tokens?.levelOffsets?.length !== levels) fail(manifestFile, 'tokens.levelOffsets must have one offset per level')
  if (m.userHash?.name !== USER_HASH_NAME) fail(manifestFile, `userHash.name "${String(m.userHash?.name)}" is not supported (expected ${USER_HASH_NAME})`)
  if (!Number.isInteger(m.maxHistory) || m.maxHistory < 1) fail(manifestFile, 'maxHistory must be a positive integer')
  const dims = m.onnxDims
  if (![dims?.layers, dims?.heads, dims?.head_dim].every(d => Number.isInteger(d) && d > 0)) fail(manifestFile, 'onnxDims must give layers, heads and head_dim')
  checkGraph(manifestFile, 'encoder', m.onnx?.encoder, ENCODER_IO(m.formatVersion))
  checkGraph(manifestFile, 'decoder', m.onnx?.decoder, DECODER_IO)
  return {
    manifest: m,
    encoder: checkFile(dir, m.onnx.encoder, 'encoder'),
    decoder: checkFile(dir, m.onnx.decoder, 'decoder'),
    catalogue: checkFile(dir, m.catalogue, 'catalogue'),
    parity: path.join(dir, m.parity?.file ?? 'parity.jsonl'),
    ...(m.tokenizer !== undefined && {
      tokenizer: {
        json: checkFile(dir, m.tokenizer, 'tokenizer'),
        arrays: checkFile(dir, m.tokenizer.arrays, 'tokenizer arrays'),
        parity: checkFile(dir, m.tokenizer.parity, 'tokenizer parity vectors')
      }
    })
  }
}
