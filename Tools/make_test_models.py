#!/usr/bin/env python3
"""Generates the small ONNX import-test models of Tests/Fixtures/models and the .npy/.npz
test arrays of Tests/Fixtures/arrays. Run once; the outputs are committed, CI never needs torch.

    pip install torch==2.5.1 torchvision==0.20.1 onnx onnxruntime
    python3 Tools/make_test_models.py

Each model folder holds model.onnx, input.npy (batch 2) and expected.npy (onnxruntime output).
The models cover the op patterns of torchvision VGG, ResNet, MobileNetV2, DenseNet, SqueezeNet,
an EfficientNet-style block, and a tf2onnx-style graph (NHWC Transpose/Reshape/MatMul) built with
onnx.helper, since TensorFlow is not installable here.
"""
import os
import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import helper, TensorProto, numpy_helper
from torchvision.models.densenet import DenseNet
from torchvision.models.mobilenetv2 import InvertedResidual
from torchvision.models.resnet import BasicBlock
from torchvision.models.squeezenet import Fire

ROOT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures")
torch.manual_seed(0)
np.random.seed(0)


def randomize_bn(model):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return model


class VGGLike(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(2, 2), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(2, 2, ceil_mode=True))
        self.avgpool = nn.AdaptiveAvgPool2d((2, 2))
        self.classifier = nn.Sequential(nn.Linear(64, 32), nn.ReLU(True), nn.Dropout(), nn.Linear(32, 10))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        x = torch.flatten(x, 1)
        return self.classifier(x)


class ResNetLike(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(3, 2, 1)
        down = nn.Sequential(nn.Conv2d(8, 16, 1, stride=2, bias=False), nn.BatchNorm2d(16))
        self.layer1 = nn.Sequential(BasicBlock(8, 8), BasicBlock(8, 16, stride=2, downsample=down))
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer1(x)
        x = F.adaptive_avg_pool2d(x, 1)
        x = x.view(x.size(0), -1)          # Shape -> Gather -> Unsqueeze -> Concat -> Reshape
        return self.fc(x)


class MobileNetV2Like(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU6(inplace=True))
        self.blocks = nn.Sequential(InvertedResidual(8, 8, 1, 2), InvertedResidual(8, 16, 2, 3), InvertedResidual(16, 16, 1, 2))
        self.head = nn.Sequential(nn.Conv2d(16, 32, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6(inplace=True))
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(32, 10))

    def forward(self, x):
        x = self.head(self.blocks(self.stem(x)))
        x = nn.functional.adaptive_avg_pool2d(x, (1, 1))
        return self.classifier(torch.flatten(x, 1))


class SqueezeNetLike(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, stride=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(16, 4, 8, 8), Fire(16, 4, 8, 8), nn.MaxPool2d(3, 2, ceil_mode=True), Fire(16, 8, 16, 16))
        self.classifier = nn.Sequential(nn.Dropout(0.5), nn.Conv2d(32, 10, 1), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d((1, 1)))

    def forward(self, x):
        return torch.flatten(self.classifier(self.features(x)), 1)


class EfficientNetLike(nn.Module):
    """Conv-BN-SiLU (Sigmoid*Mul), depthwise conv, squeeze-excitation, padded average pooling,
    LeakyReLU/Tanh, and a final Softmax (the graph ends in Softmax)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8))
        self.dw = nn.Sequential(nn.Conv2d(8, 8, 3, 1, 1, groups=8, bias=False), nn.BatchNorm2d(8))
        self.se_reduce = nn.Conv2d(8, 2, 1)
        self.se_expand = nn.Conv2d(2, 8, 1)
        self.project = nn.Conv2d(8, 12, 1, dilation=1)
        self.dilated = nn.Conv2d(12, 12, 3, padding=2, dilation=2, groups=3)
        self.pool = nn.AvgPool2d(3, 2, padding=1, ceil_mode=True, count_include_pad=True)
        self.pool2 = nn.AvgPool2d(2, 1, padding=1, count_include_pad=False)
        self.fc = nn.Linear(12, 10)

    def forward(self, x):
        x = x * torch.sigmoid(x)                      # SiLU as Sigmoid * Mul on the input
        x = F.silu(self.stem(x))
        y = F.silu(self.dw(x))
        s = y.mean((2, 3), keepdim=True)              # ReduceMean
        s = torch.sigmoid(self.se_expand(F.silu(self.se_reduce(s))))
        y = y * s
        y = F.leaky_relu(self.project(y), 0.1)
        y = torch.tanh(self.dilated(y)) + y
        y = self.pool2(self.pool(y))
        y = F.adaptive_avg_pool2d(y, 1).flatten(1)
        return torch.softmax(self.fc(y), dim=1)


class MiscOps(nn.Module):
    """Pad, Sub/Div by constants, permute (Transpose), runtime MatMul, Unsqueeze/Squeeze, ReduceSum, Concat."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.1, 0.2, 0.3]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.9, 1.1, 1.3]).view(1, 3, 1, 1))
        self.conv = nn.Conv2d(3, 4, 3, stride=(2, 1), padding=0)
        self.fc = nn.Linear(4, 5)

    def forward(self, x):
        x = (x - self.mean) / self.std
        x = F.pad(x, (1, 2, 0, 1), value=0.5)                    # asymmetric constant Pad
        x = self.conv(x)                                         # (N,4,h,w)
        t = x.flatten(2).permute(0, 2, 1)                        # (N,hw,4)
        a = torch.matmul(t.transpose(1, 2), t) / 10.0            # runtime MatMul (N,4,4)
        v = a.sum(dim=2, keepdim=False)                          # ReduceSum (N,4)
        u = torch.cat([v.unsqueeze(1), x.mean((2, 3)).unsqueeze(1)], dim=1)  # (N,2,4)
        u = torch.clamp(u, -3.0, 3.0).squeeze(1) if u.shape[1] == 1 else torch.clamp(u, -3.0, 3.0)
        return self.fc(u).flatten(1)


def export(name, model, shape, opset=17):
    folder = os.path.join(ROOT, "models", name)
    os.makedirs(folder, exist_ok=True)
    model.eval()
    x = torch.randn(2, *shape)
    path = os.path.join(folder, "model.onnx")
    torch.onnx.export(model, x, path, input_names=["input"], output_names=["output"], opset_version=opset,
                      dynamic_axes={"input": {0: "N"}, "output": {0: "N"}}, do_constant_folding=(name != "resnet"))
    finish(folder, x.numpy())


def finish(folder, x):
    path = os.path.join(folder, "model.onnx")
    assert os.path.getsize(path) < 1 << 20, path
    onnx.checker.check_model(onnx.load(path))
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    y = sess.run(None, {sess.get_inputs()[0].name: x.astype(np.float32)})[0]
    np.save(os.path.join(folder, "input.npy"), x.astype(np.float32))
    np.save(os.path.join(folder, "expected.npy"), y.astype(np.float32))
    ops = sorted({n.op_type for n in onnx.load(path).graph.node})
    print(f"{os.path.basename(folder)}: {ops} -> {y.shape}")


def tf2onnx_style():
    """A graph in the shape tf2onnx writes for a Keras model: NHWC input, Transpose around Conv,
    Reshape with a constant -1 shape, MatMul with a constant weight + Add bias, Softmax at the end."""
    rng = np.random.default_rng(1)
    init = [
        numpy_helper.from_array(rng.normal(0, 0.3, (4, 3, 3, 3)).astype(np.float32), "conv_w"),
        numpy_helper.from_array(rng.normal(0, 0.1, (4,)).astype(np.float32), "conv_b"),
        numpy_helper.from_array(np.array([-1, 6 * 6 * 4], dtype=np.int64), "flat_shape"),
        numpy_helper.from_array(rng.normal(0, 0.1, (144, 10)).astype(np.float32), "dense_w"),
        numpy_helper.from_array(rng.normal(0, 0.1, (10,)).astype(np.float32), "dense_b"),
        numpy_helper.from_array(np.array(0.0, dtype=np.float32), "clip_min"),
        numpy_helper.from_array(np.array(6.0, dtype=np.float32), "clip_max"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axes1"),
    ]
    nodes = [
        helper.make_node("Transpose", ["input"], ["nchw"], name="model/conv/transpose", perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["nchw", "conv_w", "conv_b"], ["conv"], name="model/conv/Conv2D", kernel_shape=[3, 3],
                         auto_pad="VALID"),
        helper.make_node("Clip", ["conv", "clip_min", "clip_max"], ["relu6"], name="model/conv/Relu6"),
        helper.make_node("Transpose", ["relu6"], ["nhwc"], name="model/conv/transpose_back", perm=[0, 2, 3, 1]),
        helper.make_node("Reshape", ["nhwc", "flat_shape"], ["flat"], name="model/flatten/Reshape"),
        helper.make_node("MatMul", ["flat", "dense_w"], ["mm"], name="model/dense/MatMul"),
        helper.make_node("Add", ["mm", "dense_b"], ["logits"], name="model/dense/BiasAdd"),
        helper.make_node("Unsqueeze", ["logits", "axes1"], ["u"], name="model/expand"),
        helper.make_node("Squeeze", ["u", "axes1"], ["s"], name="model/squeeze"),
        helper.make_node("Softmax", ["s"], ["output"], name="model/dense/Softmax", axis=-1),
    ]
    graph = helper.make_graph(nodes, "tf2onnx_style", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["unk__6", 8, 8, 3])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["unk__7", 10])], init)
    model = helper.make_model(graph, producer_name="tf2onnx-style", opset_imports=[helper.make_opsetid("", 13)])
    folder = os.path.join(ROOT, "models", "tf2onnx-style")
    os.makedirs(folder, exist_ok=True)
    onnx.save(model, os.path.join(folder, "model.onnx"))
    finish(folder, np.random.default_rng(2).normal(size=(2, 8, 8, 3)).astype(np.float32))


def arrays():
    folder = os.path.join(ROOT, "arrays")
    os.makedirs(folder, exist_ok=True)
    a = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    np.save(f"{folder}/f4.npy", a)
    np.save(f"{folder}/f8.npy", a.astype(np.float64))
    np.save(f"{folder}/i8.npy", np.arange(-3, 3, dtype=np.int64))
    np.save(f"{folder}/i4.npy", np.arange(-3, 3, dtype=np.int32))
    np.save(f"{folder}/u1.npy", np.arange(250, 256, dtype=np.uint8))
    np.save(f"{folder}/b1.npy", np.array([True, False, True]))
    np.save(f"{folder}/scalar.npy", np.float32(2.5))
    np.save(f"{folder}/fortran.npy", np.asfortranarray(a))
    np.save(f"{folder}/bigendian.npy", a.astype(">f4"))
    np.save(f"{folder}/c8.npy", np.ones(2, dtype=np.complex64))
    for version in [(2, 0), (3, 0)]:
        with open(f"{folder}/v{version[0]}.npy", "wb") as f:
            np.lib.format.write_array(f, a, version=version)
    np.savez(f"{folder}/stored.npz", x=a, y=np.arange(3, dtype=np.int64))
    np.savez_compressed(f"{folder}/compressed.npz", x=a)
    print("arrays written")


if __name__ == "__main__":
    export("vgg", VGGLike(), (3, 16, 16))
    export("resnet", randomize_bn(ResNetLike()), (3, 16, 16), opset=11)
    export("mobilenetv2", randomize_bn(MobileNetV2Like()), (3, 16, 16))
    export("densenet", randomize_bn(DenseNet(growth_rate=4, block_config=(2, 2), num_init_features=8, bn_size=2, num_classes=10)), (3, 32, 32), opset=13)
    export("squeezenet", SqueezeNetLike(), (3, 32, 32))
    export("efficientnet", randomize_bn(EfficientNetLike()), (3, 16, 16), opset=18)
    export("misc-ops", MiscOps(), (3, 9, 8))
    tf2onnx_style()
    arrays()
