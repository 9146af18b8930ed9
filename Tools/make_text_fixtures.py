#!/usr/bin/env python3
"""Makes the fixture set Tests/Fixtures/text: Captum 0.9.0's layer attributions at the embedding of a
small text CNN (the shape of Captum's IMDB tutorial: Embedding, Conv1d, ReLU, max-pool over time,
Linear), exported with int64 token ids (dynamic batch) — the way NLP models are explained: token
ids have no gradient, so attributions are taken at the embedding's output.

Model: vocabulary 40, embedding 8, Conv1d(8→6, kernel 3, padding 1), ReLU, MaxPool1d(12) over the
12 positions, Linear(6→3); seed 31. Inputs: 4 sequences of 12 ids (id 0 = padding, used as the
baseline). Cases (explaining the arg-max logit of targets.npy):

- `layer_integrated_gradients_embedding`: LayerIntegratedGradients(model, model.embedding) with
  baselines = all-padding ids, 50 Gauss–Legendre steps (Captum's defaults);
- `layer_gradient_x_activation_embedding`: LayerGradientXActivation at the embedding;
- `feature_ablation_tokens`: FeatureAblation on the ids with baseline 0 (each token replaced by
  padding in turn).

References in float64 from the float32 weights, stored as float32; format of the shared set.
`bert()` and `bert_padded()` add a tiny Hugging Face BERT (bert-tiny: one attention_mask row for
the batch; bert-tiny-padded: sentences of different lengths, one row per sample).

    pip install torch==2.5.1 onnx captum==0.9.0 numpy
    python3 Tools/make_text_fixtures.py
"""
import os

import numpy as np
import torch
import torch.nn as nn
from captum.attr import FeatureAblation, LayerGradientXActivation, LayerIntegratedGradients

import fixture_manifest

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "text", "text-cnn")


class TextCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(40, 8, padding_idx=0)
        self.conv = nn.Conv1d(8, 6, 3, padding=1)
        self.fc = nn.Linear(6, 3)

    def forward(self, ids):
        e = self.embedding(ids).permute(0, 2, 1)                  # (N, 8, L)
        h = torch.relu(self.conv(e))
        h = nn.functional.max_pool1d(h, 12).squeeze(2)            # (N, 6): max over the 12 positions
        return self.fc(h)


def main():
    torch.manual_seed(31)
    model = TextCNN().eval()
    ids = torch.randint(1, 40, (4, 12))
    ids[0, 9:] = 0                                                 # a padded sequence
    os.makedirs(OUT, exist_ok=True)
    torch.onnx.export(model, ids, os.path.join(OUT, "model.onnx"), opset_version=17, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    with torch.no_grad():
        logits = model.double()(ids).numpy()
    targets = torch.from_numpy(logits.argmax(1))
    np.save(os.path.join(OUT, "input.npy"), ids.numpy().astype(np.int64))
    np.save(os.path.join(OUT, "logits.npy"), logits.astype(np.float32))
    np.save(os.path.join(OUT, "targets.npy"), targets.numpy().astype(np.int64))
    baseline = torch.zeros_like(ids)
    np.save(os.path.join(OUT, "feature_mask.npy"), np.arange(12, dtype=np.int64)[None])     # every token its own group

    def run(kind, dtype):
        net = model.to(dtype)
        if kind == "lig":
            return LayerIntegratedGradients(net, net.embedding).attribute(ids, baselines=baseline, target=targets, n_steps=50, method="gausslegendre")
        if kind == "lgxa":
            return LayerGradientXActivation(net, net.embedding).attribute(ids, target=targets)
        return FeatureAblation(net).attribute(ids, baselines=0, target=targets, feature_mask=torch.arange(12)[None])

    cases = []
    for cid, kind, method, params in [
        ("layer_integrated_gradients_embedding", "lig", "LayerIntegratedGradients",
         {"layer": "embedding", "onnx_tensor": "/embedding/Gather_output_0", "n_steps": 50, "method": "gausslegendre", "baseline": 0.0}),
        ("layer_gradient_x_activation_embedding", "lgxa", "LayerGradientXActivation", {"layer": "embedding", "onnx_tensor": "/embedding/Gather_output_0"}),
        ("feature_ablation_tokens", "ablation", "FeatureAblation", {"baselines": 0.0, "feature_mask": "feature_mask.npy"}),
    ]:
        ref, r32 = (run(kind, d).detach().double().numpy() for d in (torch.float64, torch.float32))
        cases.append(fixture_manifest.case(OUT, cid, "layer" if kind != "ablation" else "model_agnostic", method, "captum 0.9.0", params,
                                           ref, r32, "the logit of targets.npy",
                                           f"Captum {method} on a text CNN with int64 token ids (0 = padding = the baseline)."))
    fixture_manifest.write(OUT, "text-cnn", "Tools/make_text_fixtures.py TextCNN (Embedding 40×8, Conv1d 8→6 k3, ReLU, max over time, Linear 6→3; seed 31)",
                           "captum 0.9.0 in float64 from the float32 weights, stored as float32", cases)


def bert():
    """A tiny Hugging Face BERT classifier (2 layers, width 16, eager attention) with three inputs;
    attention_mask and token_type_ids are bound (one row shared by the batch), input_ids explained
    at the word embeddings with Captum's LayerIntegratedGradients."""
    from transformers import BertConfig, BertForSequenceClassification

    out = os.path.join(os.path.dirname(OUT), "bert-tiny")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(5)
    cfg = BertConfig(vocab_size=60, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                     max_position_embeddings=32, num_labels=3, attn_implementation="eager")
    model = BertForSequenceClassification(cfg).eval()
    ids = torch.randint(1, 60, (3, 8))
    ids[:, 6:] = 0
    mask = torch.ones(1, 8, dtype=torch.int64)
    mask[:, 6:] = 0
    types = torch.zeros(1, 8, dtype=torch.int64)

    class Wrapped(nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            n = input_ids.shape[0]
            return self.m(input_ids=input_ids, attention_mask=attention_mask.expand(n, -1),
                          token_type_ids=token_type_ids.expand(n, -1)).logits

    wrapped = Wrapped(model).eval()
    torch.onnx.export(wrapped, (ids, mask, types), os.path.join(out, "model.onnx"), opset_version=17,
                      input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["logits"],
                      dynamic_axes={"input_ids": {0: "N"}, "logits": {0: "N"}})
    wrapped.eval()                                             # export restores the training flag it found
    with torch.no_grad():
        logits = wrapped.double()(ids, mask, types).numpy()
    def lig(dtype, targets):
        w = wrapped.to(dtype).eval()
        f = lambda i: w(i, mask, types)
        return LayerIntegratedGradients(f, w.m.bert.embeddings.word_embeddings).attribute(
            ids, baselines=torch.zeros_like(ids), target=targets, n_steps=50, method="gausslegendre").detach().double().numpy()

    bert_case(out, "bert-tiny", "Tools/make_text_fixtures.py bert(): transformers 4.51.3 BertForSequenceClassification, random weights, seed 5",
              ids, mask, types, logits, lig, "attention_mask and token_type_ids held fixed (bound).")


def bert_case(out, model_id, source, ids, mask, types, logits, lig, binding):
    """Saves a BERT folder's ids, bound inputs, logits and arg-max targets, and its one case:
    Captum's LayerIntegratedGradients at the word embeddings (`lig(dtype, targets)`)."""
    targets = torch.from_numpy(logits.argmax(1))
    for name, array in [("input", ids), ("attention_mask", mask), ("token_type_ids", types)]:
        np.save(os.path.join(out, name + ".npy"), array.numpy())
    np.save(os.path.join(out, "logits.npy"), logits.astype(np.float32))
    np.save(os.path.join(out, "targets.npy"), targets.numpy().astype(np.int64))
    tensor = "/m/bert/embeddings/word_embeddings/Gather_output_0"
    case = fixture_manifest.case(out, "layer_integrated_gradients_word_embeddings", "layer", "LayerIntegratedGradients", "captum 0.9.0",
                                 {"layer": "bert.embeddings.word_embeddings", "onnx_tensor": tensor, "n_steps": 50, "method": "gausslegendre",
                                  "baseline": 0.0}, lig(torch.float64, targets), lig(torch.float32, targets), "the logit of targets.npy",
                                 "Captum LayerIntegratedGradients at BERT's word embeddings, " + binding)
    fixture_manifest.write(out, model_id, source, "captum 0.9.0 in float64 from the float32 weights, stored as float32", [case],
                           bind={"attention_mask": "attention_mask.npy", "token_type_ids": "token_type_ids.npy"})


def bert_padded():
    """The same tiny BERT (its model.onnx copied from bert-tiny) on three sentences of different
    lengths (8, 5 and 3 tokens, padded with id 0), each with its own attention_mask row and
    token_type_ids row (sample 0 has a second segment): bound with one row per sample. Captum
    LayerIntegratedGradients at the word embeddings with the masks as additional_forward_args
    (repeated per path point, as Captum does)."""
    import shutil
    from transformers import BertConfig, BertForSequenceClassification

    src = os.path.join(os.path.dirname(OUT), "bert-tiny")
    out = os.path.join(os.path.dirname(OUT), "bert-tiny-padded")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(5)
    cfg = BertConfig(vocab_size=60, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                     max_position_embeddings=32, num_labels=3, attn_implementation="eager")
    model = BertForSequenceClassification(cfg).eval()            # the weights of bert-tiny (same seed, same order)
    shutil.copyfile(os.path.join(src, "model.onnx"), os.path.join(out, "model.onnx"))
    g = torch.Generator().manual_seed(17)
    ids = torch.randint(1, 60, (3, 8), generator=g)
    lengths = [8, 5, 3]
    mask = torch.zeros(3, 8, dtype=torch.int64)
    for s, n in enumerate(lengths):
        ids[s, n:] = 0
        mask[s, :n] = 1
    types = torch.zeros(3, 8, dtype=torch.int64)
    types[0, 5:] = 1

    def forward(input_ids, attention_mask, token_type_ids):
        return model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).logits

    with torch.no_grad():
        model.double()
        logits = forward(ids, mask, types).numpy()
    def lig(dtype, targets):
        model.to(dtype).eval()
        return LayerIntegratedGradients(forward, model.bert.embeddings.word_embeddings).attribute(
            ids, baselines=torch.zeros_like(ids), target=targets, additional_forward_args=(mask, types), n_steps=50,
            method="gausslegendre").detach().double().numpy()

    bert_case(out, "bert-tiny-padded", "Tools/make_text_fixtures.py bert_padded(): the model of bert-tiny", ids, mask, types, logits, lig,
              "each sentence's own attention_mask and token_type_ids row held fixed (bound with one row per sample).")


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["padded"]:
        bert_padded()
    else:
        main()
        bert()
        bert_padded()
