"""Stream models: parameter counts, layouts, GCSConv against a dense formula, registry errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from df4lcz.constants import S2_MODEL_NAMES
from df4lcz.models import (
    LCZGCN,
    RESNET11_3D_PARAMS,
    GCSConv,
    ResNet11_3D,
    build_s2_model,
    count_trainable_parameters,
)


def _conv(cin: int, cout: int, k: int) -> int:
    """Weights + bias of a convolution with ``k`` kernel taps."""
    return cin * cout * k + cout


def _bottleneck(cin: int, width: int, taps: int, projection: bool) -> int:
    out = 4 * width
    n = _conv(cin, width, 1) + _conv(width, width, taps) + _conv(width, out, 1) + 2 * (width + width + out)
    if projection:
        n += _conv(cin, out, 1) + 2 * out
    return n


def test_resnet11_3d_has_the_published_parameter_count():
    model = build_s2_model("resnet11_3d")
    assert count_trainable_parameters(model) == 3_538_961 == RESNET11_3D_PARAMS


def test_resnet11_3d_count_matches_hand_formula_at_other_width():
    w = 8
    expected = _conv(1, w, 27) + 2 * w
    cin = w
    for i in range(3):
        expected += _bottleneck(cin, w * 2**i, 27, projection=True)
        cin = 4 * w * 2**i
    expected += cin * 17 + 17
    assert count_trainable_parameters(ResNet11_3D(base_width=w)) == expected


def test_resnet11_3d_feature_map_shapes():
    model = ResNet11_3D(base_width=4).eval()
    shapes = []
    hooks = [model.stem.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape)))]
    for block in model.blocks:
        hooks.append(block.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape))))
    with torch.no_grad():
        out = model(torch.randn(2, 32, 32, 10))
    for h in hooks:
        h.remove()
    # (N, C, spectral depth, H, W): spectral axis strided with space, ceil(n/2): 10 -> 5 -> 3
    assert shapes == [(2, 4, 10, 32, 32), (2, 16, 10, 32, 32), (2, 32, 5, 16, 16), (2, 64, 3, 8, 8)]
    assert out.shape == (2, 17)


def test_resnet11_2d_count_matches_hand_formula():
    w = 64
    expected = _conv(10, w, 9) + 2 * w
    cin = w
    for i in range(3):
        expected += _bottleneck(cin, w * 2**i, 9, projection=True)
        cin = 4 * w * 2**i
    expected += cin * 17 + 17
    assert count_trainable_parameters(build_s2_model("resnet11_2d")) == expected == 1_994_705


def test_densenet_count_matches_hand_formula():
    g, ch = 12, 64
    expected = _conv(10, 64, 9) + 2 * 64
    for block in range(3):
        for _ in range(7):
            expected += 2 * ch + _conv(ch, 4 * g, 1) + _conv(4 * g, g, 9)
            ch += g
        if block < 2:
            expected += 2 * ch + _conv(ch, 32, 1)
            ch = 32
    expected += ch * 17 + 17
    assert count_trainable_parameters(build_s2_model("densenet_2d")) == expected


@pytest.mark.parametrize("name", S2_MODEL_NAMES)
def test_every_s2_model_maps_chips_to_17_logits(name):
    torch.manual_seed(0)
    model = build_s2_model(name, base_width=4).eval()
    with torch.no_grad():
        out = model(torch.randn(3, 32, 32, 10))
    assert out.shape == (3, 17)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize(("name", "width"), [("resnet11_2d", 4), ("resnet11_2d", 2)])
def test_small_models_survive_repeated_training_steps(name, width):
    # regression: a channels-last *view* fed to oneDNN CPU convolutions with few channels
    # corrupted memory (segfault within a few steps) in torch 2.15
    torch.manual_seed(0)
    model = build_s2_model(name, base_width=width)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    for _ in range(4):
        loss = model(torch.randn(17, 32, 32, 10)).logsumexp(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert torch.isfinite(loss)


def test_msmla_pools_backbone_and_four_attention_branches():
    model = build_s2_model("msmla50")
    # 4·48 backbone + 64 multi-scale CBAM + 64 + 128 + 192 stage CBAMs
    assert model.head.in_features == 192 + 64 + 64 + 128 + 192


def test_unknown_s2_model_name_is_rejected():
    with pytest.raises(ValueError, match=r"unknown Sentinel-2 model 'vgg'.*resnet11_3d"):
        build_s2_model("vgg")


def test_unknown_model_option_is_rejected():
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['depth'\]"):
        build_s2_model("resnet11_3d", depth=3)


def test_wrong_chip_shape_is_rejected():
    with pytest.raises(ValueError, match=r"expected chips of shape \(N, H, W, 10\)"):
        ResNet11_3D(base_width=4)(torch.zeros(2, 10, 32, 32))


def test_lcz_gcn_has_the_published_parameter_count():
    assert count_trainable_parameters(LCZGCN(in_features=5)) == 5_073


def test_lcz_gcn_count_matches_hand_formula():
    f, h = 7, 8
    expected = (f * h * 2 + h) + (h * h * 2 + h) + (h * 17 + 17)
    assert count_trainable_parameters(LCZGCN(in_features=f, hidden=h, n_layers=2)) == expected


def _dense_gcs(x: np.ndarray, adj: np.ndarray, w1: np.ndarray, w2: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Z = D^-1/2 A D^-1/2 X W1 + X W2 + b with 0^-1/2 := 0 (isolated nodes)."""
    deg = adj.sum(axis=1)
    dinv = np.zeros_like(deg)
    dinv[deg > 0] = deg[deg > 0] ** -0.5
    a_norm = dinv[:, None] * adj * dinv[None, :]
    return a_norm @ x @ w1 + x @ w2 + b


def test_gcsconv_matches_dense_formula_with_isolated_node():
    rng = np.random.default_rng(3)
    n, f_in, f_out = 6, 4, 3
    adj = np.zeros((n, n))
    for i, j in [(0, 1), (0, 2), (1, 2), (2, 3), (3, 4)]:  # node 5 is isolated
        adj[i, j] = adj[j, i] = 1.0
    x = rng.normal(size=(n, f_in))
    torch.manual_seed(0)
    layer = GCSConv(f_in, f_out).double()
    with torch.no_grad():
        layer.skip.bias.copy_(torch.from_numpy(rng.normal(size=f_out)))
    w1 = layer.propagate_term.lin.weight.detach().numpy().T
    w2 = layer.skip.weight.detach().numpy().T
    b = layer.skip.bias.detach().numpy()
    edge_index = torch.from_numpy(np.array(np.nonzero(adj)))
    with torch.no_grad():
        z = layer(torch.from_numpy(x), edge_index).numpy()
    np.testing.assert_allclose(z, _dense_gcs(x, adj, w1, w2, b), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(z[5], x[5] @ w2 + b, rtol=1e-10)  # isolated: skip term only


def test_lcz_gcn_pools_per_graph_and_handles_empty_graph():
    torch.manual_seed(0)
    model = LCZGCN().eval()
    x = torch.randn(5, 5)
    edge_index = torch.tensor([[0, 1, 2, 3], [1, 0, 3, 2]])
    batch = torch.tensor([0, 0, 1, 1, 1])
    with torch.no_grad():
        out = model(x, edge_index, batch, n_graphs=3)  # graph 2 has no nodes
        alone = model(x[:2], edge_index[:, :2], torch.zeros(2, dtype=torch.long), n_graphs=1)
    assert out.shape == (3, 17)
    torch.testing.assert_close(out[0], alone[0])
    torch.testing.assert_close(out[2], model.fc.bias.detach())  # zero pooled vector → bias
