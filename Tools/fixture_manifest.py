"""Shared pieces of the fixture generators that write the shared set's format (manifest.json plus
one .npy per case; see Tests/Fixtures/reference/README.md): the float32-vs-float64 precision of a
reference, its tolerance, one case entry, and the manifest."""
import json
import os

import numpy as np

COMPARISON = "per case: rel_l2 = max over samples of ||cand - ref|| / ||ref|| <= rtol AND max |cand - ref| <= atol"


def precision(ref, r32):
    """(max over samples of the relative L2 difference, max absolute difference) of the float32
    result against the float64 reference."""
    diff = r32 - ref
    rel = max(float(np.linalg.norm(d) / max(np.linalg.norm(r), 1e-30)) for d, r in zip(diff, ref))
    return rel, float(np.abs(diff).max())


def case(out, cid, family, method, peer, params, ref, r32, start, notes, **diagnostics):
    """Saves the reference as <out>/<cid>.npy (float32) and returns its manifest entry; rtol/atol
    are 20 times the float32-vs-float64 difference (at least 1e-5 / 1e-6)."""
    rel, mabs = precision(ref, r32)
    np.save(os.path.join(out, f"{cid}.npy"), ref.astype(np.float32))
    print(f"{os.path.basename(out)} {cid}: f32 vs f64 rel {rel:.2e}")
    return {
        "id": cid, "family": family, "method": method, "peer": peer, "params": params,
        "output": f"{cid}.npy", "output_shape": list(ref.shape), "start_relevance": start,
        "tolerance": {"rtol": max(1e-5, 20 * rel), "atol": max(1e-6, 20 * mabs)},
        "notes": notes,
        "diagnostics": dict({"float32_vs_float64": {"rel_l2_max": rel, "max_abs": mabs},
                             "max_abs_reference": float(np.abs(ref).max())}, **diagnostics),
    }


def write(out, model_id, source, references, cases, bind=None):
    """Writes <out>/manifest.json; `bind` (input name → file of the folder) holds further model
    inputs at fixed values (ExplainKit's --bind)."""
    manifest = {"model_id": model_id, "model": {"source": source},
                "conventions": {"comparison": COMPARISON, "references": references}, "cases": cases}
    if bind:
        manifest["bind"] = bind
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


def copy_shared(src, out):
    """Copies a shared-set model folder's model.onnx, input.npy, targets.npy and logits.npy to
    `out` and returns (the ONNX model, the inputs, the targets)."""
    import shutil

    import onnx
    os.makedirs(out, exist_ok=True)
    for f in ("model.onnx", "input.npy", "targets.npy", "logits.npy"):
        shutil.copy(os.path.join(src, f), os.path.join(out, f))
    return onnx.load(os.path.join(src, "model.onnx")), np.load(os.path.join(src, "input.npy")), np.load(os.path.join(src, "targets.npy"))


def save_inputs(out, proto, x):
    """Saves <out>/input.npy, logits.npy (the ONNX model in float64 via onnx2torch, stored as
    float32) and targets.npy (their arg-max) for the inputs `x`; returns the targets."""
    import onnx2torch
    import torch
    with torch.no_grad():
        logits = onnx2torch.convert(proto).double().eval()(torch.from_numpy(x).double()).numpy()
    targets = logits.argmax(1).astype(np.int64)
    np.save(os.path.join(out, "input.npy"), x)
    np.save(os.path.join(out, "logits.npy"), logits.astype(np.float32))
    np.save(os.path.join(out, "targets.npy"), targets)
    return targets


def export(model, x, out):
    """Exports `model` on `x` to <out>/model.onnx (opset 17, dynamic batch) and saves input.npy,
    logits.npy (the float64 forward, stored as float32) and targets.npy (their arg-max); the model
    stays float32. Returns the float64 logits."""
    import torch
    os.makedirs(out, exist_ok=True)
    torch.onnx.export(model, x, os.path.join(out, "model.onnx"), opset_version=17, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    with torch.no_grad():
        logits = model.double()(x.double() if x.is_floating_point() else x).numpy()
    model.float()
    np.save(os.path.join(out, "input.npy"), x.numpy())
    np.save(os.path.join(out, "logits.npy"), logits.astype(np.float32))
    np.save(os.path.join(out, "targets.npy"), logits.argmax(1).astype(np.int64))
    return logits


def save_import_test(out, model, x, expected):
    """Saves an import-test folder's input.npy, expected.npy (the reference runtime's logits) and
    gradient.npy (PyTorch's input gradient of each sample's arg-max logit)."""
    xg = x.clone().requires_grad_()
    logits = model(xg)
    logits.gather(1, logits.argmax(1, keepdim=True)).sum().backward()
    np.save(os.path.join(out, "input.npy"), x.numpy())
    np.save(os.path.join(out, "expected.npy"), expected)
    np.save(os.path.join(out, "gradient.npy"), xg.grad.numpy())
