"""Rewrites a model directory's ONNX graphs in the current serving format, from the weights in its own graphs,
so that models exported before a faster graph layout existed get it without their training run.

The weights are read back from encoder.onnx and decoder.onnx: named initializers (embeddings, layer norms,
biases) by name, the output head from the Gather by level of its folded transpose, and each Linear's weight from the MatMul whose output its bias is added to
(the exporter folds the transposed weight into an anonymous initializer). The rebuilt policy must reproduce the
directory's parity vectors before anything is written; the new graphs are then checked against it at the
export's tolerance, and the parity vectors, manifest hashes and format version are rewritten. Item ids, scores and
the catalogue are unchanged; the GFlowNet heads (log Z, log F) are not part of an export and are not needed to serve.

    python -m gflowgr.reexport ../models/beauty-gflowgr [more model directories]
    python -m gflowgr.reexport --int8 --out ../models/beauty-gflowgr-int8 ../models/beauty-gflowgr

With --int8 the graphs get int8 weights (quantize.py) and the parity vectors come from the quantised graphs;
--out writes the result to a new directory and leaves the source as it is.
"""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from .decoding import beam_search
from .errors import DataError
from .evaluate import user_tokens
from .export import FORMAT_VERSION, PARITY_TOLERANCE, _export_onnx, check_parity, interface, sha256, write_parity
from .model import Policy, PolicyConfig, build_item_tokens, history_batch
from .quantize import METHOD, GraphPolicy, quantize_graphs
from .trie import Trie

SERVING_ONLY = ("log_z_head.", "log_flow_head.")  # training-time heads, absent from every export


def weights_from_onnx(files: list[Path]) -> dict[str, np.ndarray]:
    """The policy's parameters (state_dict names) found in exported graphs."""
    state: dict[str, np.ndarray] = {}
    for file in files:
        try:
            graph = onnx.load(str(file)).graph
        except Exception as e:  # a truncated or foreign file: protobuf's own errors
            raise DataError(f"{file} is not a readable ONNX model ({type(e).__name__}: {e})") from e
        inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
        consumers: dict[str, list] = {}
        for node in graph.node:
            for name in node.input:
                consumers.setdefault(name, []).append(node)
        state.update({name.removeprefix("policy."): a for name, a in inits.items() if name.startswith("policy.")})
        for node in graph.node:
            if node.op_type == "Gather" and node.input[1] == "level" and node.input[0] in inits and not node.input[0].startswith("policy."):
                state["head_weight"] = inits[node.input[0]].transpose(0, 2, 1)  # the head, folded as [levels, d, width]
            if node.op_type != "MatMul" or node.input[1] not in inits or node.input[1].startswith("policy."):
                continue
            biases = {name for c in consumers.get(node.output[0], []) if c.op_type in ("Add", "Gemm")
                      for name in c.input if name.startswith("policy.") and name.endswith(".bias")}
            if not biases:  # a product with a folded constant (the output head at a fixed level): not a Linear
                continue
            if len(biases) > 1:
                raise DataError(f"{file}: the MatMul {node.name} feeds {len(biases)} named biases; cannot tell which Linear it is")
            state[biases.pop().removeprefix("policy.").removesuffix(".bias") + ".weight"] = inits[node.input[1]].T
    return state


def _manifest(model: Path) -> dict:
    """The manifest, refused with a DataError naming what is missing for a re-export."""
    try:
        manifest = json.loads((model / "manifest.json").read_text())
    except (OSError, ValueError) as e:
        raise DataError(f"{model / 'manifest.json'}: {e}") from e
    for path in (("training", "config", "policy"), ("semanticIds", "codebookSizes"), ("maxHistory",), ("onnx", "encoder", "file"),
                 ("onnx", "decoder", "file"), ("parity", "file")):
        at = manifest
        for key in path:
            if not isinstance(at, dict) or key not in at:
                raise DataError(f"{model / 'manifest.json'} has no {'.'.join(path)}")
            at = at[key]
    if manifest.get("weights", {}).get("dtype", "float32") != "float32":
        raise DataError(f"{model}: its weights are {manifest['weights']['dtype']}; re-export from the float32 model it was made from")
    for name in (manifest["onnx"]["encoder"]["file"], manifest["onnx"]["decoder"]["file"], manifest["parity"]["file"]):
        if not (model / name).is_file():
            raise DataError(f"{model / name} is missing")
    return manifest


def policy_from_model(model: Path) -> tuple[Policy, dict]:
    manifest = _manifest(model)
    cfg = PolicyConfig(**{**manifest["training"]["config"]["policy"], "codebook_sizes": manifest["semanticIds"]["codebookSizes"],
                          "max_history": manifest["maxHistory"]})
    policy = Policy(cfg).eval()
    found = weights_from_onnx([model / manifest["onnx"][g]["file"] for g in ("encoder", "decoder")])
    own = policy.state_dict()
    missing = [k for k in own if k not in found and not k.startswith(SERVING_ONLY)]
    if missing:
        raise DataError(f"{model}: the graphs lack {len(missing)} weights of the policy, e.g. {missing[:3]}")
    policy.load_state_dict({k: torch.as_tensor(found[k]) if k in found else v for k, v in own.items()})
    return policy, manifest


def _catalogue(model: Path) -> tuple[list[str], np.ndarray]:
    rows = [json.loads(line) for line in (model / "items.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["itemId"] for r in rows], np.array([r["semanticId"] for r in rows])


def reexport(model: Path, int8: bool = False) -> dict:
    policy, manifest = policy_from_model(model)
    ids, codes = _catalogue(model)
    index = {item: i for i, item in enumerate(ids)}
    trie = Trie(codes, manifest["semanticIds"]["codebookSizes"])
    item_tokens = build_item_tokens(codes, policy.cfg)
    old = [json.loads(line) for line in (model / manifest["parity"]["file"]).read_text().splitlines() if line.strip()]
    if not old:
        raise DataError(f"{model / manifest['parity']['file']} has no parity vectors to check the weights against")
    unknown = sorted({i for v in old for i in v["history"] if i not in index})
    if unknown:
        raise DataError(f"{model / manifest['parity']['file']} names items that are not in items.jsonl, e.g. {unknown[:3]}")
    requests = [{"userId": v["userId"], "history": [index[i] for i in v["history"]], "excludeSeen": v["excludeSeen"]} for v in old]
    trie_t = trie.tensors()

    def answer(decoder, r: dict, beam: int, k: int):
        """The reference beam search's items and scores for one parity request, through `decoder`."""
        items, scores = beam_search(decoder, trie_t, history_batch([r["history"]], item_tokens, policy.cfg.max_history),
                                    user_tokens([r["userId"]], policy), beam, k, excluded=[r["history"]] if r["excludeSeen"] else None)
        return items[0], scores[0]

    # the rebuilt weights must give the old graphs' answers before anything is rewritten
    for r, v in zip(requests, old):
        items, scores = answer(policy, r, v["beamWidth"], v["k"])
        got = [ids[i] for i in items.tolist() if i >= 0]
        diff = max((abs(a - b) for a, b in zip(scores.tolist(), v["scores"])), default=0.0)
        if got != v["itemIds"] or diff > PARITY_TOLERANCE:
            raise DataError(f"{model}: the weights read back from the graphs do not reproduce parity.jsonl (user {v['userId']})")
    beam, k = old[0]["beamWidth"], old[0]["k"]
    spec = interface(policy.cfg)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        _export_onnx(policy, out, spec)
        vectors, worst = check_parity(policy, trie, item_tokens, requests, beam, k, out)
        if worst > PARITY_TOLERANCE:
            raise RuntimeError(f"re-export parity failed: onnxruntime and PyTorch differ by {worst:.2e} > {PARITY_TOLERANCE}")
        if int8:  # the parity vectors become what the quantised graphs answer
            float_items = [v["items"].tolist() for v in vectors]
            quantize_graphs(out, [spec["encoder"]["file"], spec["decoder"]["file"]])
            graphs = GraphPolicy(out, spec["encoder"]["file"], spec["decoder"]["file"], policy.cfg)
            vectors = []
            for r in requests:
                items, scores = answer(graphs, r, beam, k)
                vectors.append({"request": r, "items": items, "scores": scores})
            same = float(np.mean([v["items"].tolist() == f for v, f in zip(vectors, float_items)]))
        write_parity(vectors, ids, policy, beam, k, out)
        for name in (spec["encoder"]["file"], spec["decoder"]["file"], manifest["parity"]["file"]):
            shutil.copyfile(out / name, model / name)
    manifest["formatVersion"] = max(manifest["formatVersion"], FORMAT_VERSION)
    manifest["onnx"] = {name: {**spec[name], "sha256": sha256(model / spec[name]["file"])} for name in ("encoder", "decoder")}
    manifest["onnxDims"] = spec["dims"]
    manifest["parity"].update(sha256=sha256(model / manifest["parity"]["file"]), requests=len(vectors), maxAbsLogitDiff=worst)
    if int8:
        manifest["version"] = f"{manifest['version']}+int8"  # what the service reports: never mistaken for the float32 model
        manifest["weights"] = {"dtype": "int8", "method": METHOD, "parityListsEqualToFloat32": same,
                               "answersDependOnBatch": "activations are quantised per call, so a request's scores depend on the "
                                                       "requests batched with it (float32 answers do not)"}
        manifest["parity"]["reference"] = "the reference beam search driven by the int8 graphs (onnxruntime); maxAbsLogitDiff is the float32 graphs' against PyTorch"
    manifest["reexportedAt"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    (model / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return {"model": str(model), "formatVersion": manifest["formatVersion"], "max_abs_logit_diff": worst,
            "graph_nodes": {g: len(onnx.load(str(model / spec[g]["file"])).graph.node) for g in ("encoder", "decoder")}}


def main(argv: list[str]) -> int:
    usage = "usage: python -m gflowgr.reexport [--int8] [--out DIR] MODEL_DIR [MODEL_DIR ...]"
    args, int8, out = list(argv), "--int8" in argv, None
    args = [a for a in args if a != "--int8"]
    if "--out" in args:
        at = args.index("--out")
        if at + 1 >= len(args):
            print(usage, file=sys.stderr)
            return 2
        out = Path(args.pop(at + 1))
        args.pop(at)
    if not args or any(a.startswith("-") for a in args) or (out is not None and len(args) != 1):
        print(usage + "\n(--out takes one MODEL_DIR)", file=sys.stderr)
        return 2
    for model in map(Path, args):
        if not (model / "manifest.json").exists():
            print(f"error: {model / 'manifest.json'} not found", file=sys.stderr)
            return 2
        if out is not None and out.exists():
            print(f"error: {out} exists; --out writes a new directory", file=sys.stderr)
            return 2
        # --out: built in a temporary directory beside it and renamed when complete, so that a failed or
        # interrupted run never leaves something that looks like a finished model
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent)) / "model" if out is not None else model
        try:
            if out is not None:
                shutil.copytree(model, work)
            result = reexport(work, int8)
            if out is not None:
                work.rename(out)
                result["model"] = str(out)
            print(json.dumps(result))
        except DataError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        finally:
            if out is not None:
                shutil.rmtree(work.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
