"""Re-exporting a model directory in the current serving format from the weights in its own graphs."""
import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from gflowgr.errors import DataError
from gflowgr.reexport import main, reexport

FIXTURE = Path(__file__).resolve().parents[2] / "test" / "fixtures" / "model-smoke"  # exported in format 2


def _parity(model: Path) -> list[dict]:
    return [json.loads(line) for line in (model / "parity.jsonl").read_text().splitlines()]


def test_a_format_2_model_gets_the_serving_graphs_and_keeps_every_answer(tmp_path):
    model = tmp_path / "model"
    shutil.copytree(FIXTURE, model)
    before = json.loads((model / "manifest.json").read_text())
    assert before["formatVersion"] == 2
    old_nodes = len(onnx.load(str(model / "decoder.onnx")).graph.node)
    result = reexport(model)
    after = json.loads((model / "manifest.json").read_text())
    assert after["formatVersion"] == 3 and result["max_abs_logit_diff"] <= 1e-4
    assert [o["name"] for o in after["onnx"]["encoder"]["outputs"]] == ["cross_kv", "memory_bias", "logits", "present"]
    assert [o.name for o in onnx.load(str(model / "encoder.onnx")).graph.output] == ["cross_kv", "memory_bias", "logits", "present"]
    assert result["graph_nodes"]["decoder"] < old_nodes
    for old, new in zip(_parity(FIXTURE), _parity(model), strict=True):
        assert new["itemIds"] == old["itemIds"]
        assert np.abs(np.array(new["scores"]) - np.array(old["scores"])).max() <= 1e-4
    assert after["catalogue"] == before["catalogue"] and after["metrics"] == before["metrics"]


def test_graphs_whose_weights_do_not_give_the_parity_vectors_are_left_alone(tmp_path, capsys):
    model = tmp_path / "model"
    shutil.copytree(FIXTURE, model)
    graph = onnx.load(str(model / "decoder.onnx"))
    for init in graph.graph.initializer:
        if init.name == "policy.decoder_ln.bias":
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) + 1.0, init.name))
    onnx.save(graph, str(model / "decoder.onnx"))
    files = {p.name: p.read_bytes() for p in model.iterdir() if p.is_file()}
    with pytest.raises(DataError, match="do not reproduce parity.jsonl"):
        reexport(model)
    assert {p.name: p.read_bytes() for p in model.iterdir() if p.is_file()} == files
    assert main([str(model)]) == 2 and "do not reproduce parity.jsonl" in capsys.readouterr().err
    assert main([str(tmp_path / "nothing")]) == 2


def test_int8_goes_to_a_new_directory_with_its_own_parity_vectors(tmp_path):
    out = tmp_path / "int8"
    assert main(["--int8", "--out", str(out), str(FIXTURE)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["formatVersion"] == 3 and manifest["weights"]["dtype"] == "int8"
    assert 0 <= manifest["weights"]["parityListsEqualToFloat32"] <= 1
    assert any(n.op_type in ("DynamicQuantizeMatMul", "MatMulInteger") for n in onnx.load(str(out / "decoder.onnx")).graph.node)
    assert json.loads((FIXTURE / "manifest.json").read_text())["formatVersion"] == 2  # the source is left as it was
    assert len(_parity(out)) == len(_parity(FIXTURE))
    assert main(["--int8", "--out", str(out), str(FIXTURE)]) == 2  # never over an existing directory


@pytest.mark.parametrize("breakage, message", [
    (lambda m: (m / "decoder.onnx").unlink(), "decoder.onnx is missing"),
    (lambda m: (m / "encoder.onnx").write_bytes((m / "encoder.onnx").read_bytes()[:1000]), "not a readable ONNX model"),
    (lambda m: (m / "parity.jsonl").write_text(""), "no parity vectors"),
    (lambda m: (m / "manifest.json").write_text(json.dumps({k: v for k, v in json.loads((m / "manifest.json").read_text()).items() if k != "training"})),
     "has no training.config.policy"),
])
def test_a_broken_model_is_refused_in_one_line_and_out_leaves_nothing(tmp_path, capsys, breakage, message):
    model = tmp_path / "model"
    shutil.copytree(FIXTURE, model)
    breakage(model)
    assert main(["--out", str(tmp_path / "new"), str(model)]) == 2
    assert message in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no --out directory, finished or not


def test_an_int8_model_is_not_a_source(tmp_path, capsys):
    assert main(["--int8", "--out", str(tmp_path / "int8"), str(FIXTURE)]) == 0
    assert json.loads((tmp_path / "int8" / "manifest.json").read_text())["version"].endswith("+int8")
    assert main([str(tmp_path / "int8")]) == 2
    assert "re-export from the float32 model" in capsys.readouterr().err
