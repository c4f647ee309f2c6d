import numpy as np
import pytest
import torch
import torchvision

from utils import zoo
from utils.layers import Residual, count_parameters

tv = torchvision.models
# torchvision's builders (weights=None: no download), the reference for 12 of the 15 models.
REFERENCE = {
    "alexnet": tv.alexnet, "vgg11": tv.vgg11, "vgg16": tv.vgg16, "vgg19": tv.vgg19,
    "googlenet": lambda: tv.googlenet(weights=None, aux_logits=False, init_weights=False),
    "resnet18": tv.resnet18, "resnet34": tv.resnet34, "resnet50": tv.resnet50,
    "resnet101": tv.resnet101, "resnet152": tv.resnet152,
    "densenet121": tv.densenet121, "mobilenet_v2": tv.mobilenet_v2,
}
META = torch.device("meta")  # shapes without memory or initialisation: building VGG-19 is instant


def count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def conv_params(c_in: int, c_out: int, k: int, bias: bool = True) -> int:
    return c_out * (c_in * k * k + bias)


def test_builders_are_the_sixteen_of_the_chapter():
    assert list(zoo.BUILDERS) == ["lenet5", "alexnet", "zfnet", "vgg11", "vgg16", "vgg19",
                                  "googlenet", "resnet18", "resnet34", "resnet50",
                                  "resnet101", "resnet152", "densenet121", "xception",
                                  "mobilenet_v1", "mobilenet_v2"]
    assert set(REFERENCE) < set(zoo.BUILDERS)


@pytest.mark.parametrize("name", list(REFERENCE))
def test_same_parameter_count_and_tensor_shapes_as_torchvision(name):
    with META:
        ours, theirs = zoo.build(name), REFERENCE[name]()
        assert count_parameters(ours) == count(theirs)
        # stronger: every parameter and buffer has the same shape, in the same order
        assert [t.shape for t in ours.state_dict().values()] == [t.shape for t in theirs.state_dict().values()]


@pytest.mark.parametrize("name", list(zoo.BUILDERS))
def test_full_size_output_shape(name):
    side, channels = zoo.INPUT_SIZE[name], 1 if name == "lenet5" else 3
    with META, torch.no_grad():  # meta tensors run every layer's shape rule, without the arithmetic
        out = zoo.build(name)(torch.empty(1, channels, side, side))
    assert out.shape == ((1, 10) if name == "lenet5" else (1, 1000))


@pytest.mark.parametrize("name", ["alexnet", "googlenet", "resnet18", "resnet50", "densenet121", "mobilenet_v2"])
def test_same_function_as_torchvision_with_copied_weights(name):
    torch.manual_seed(0)
    theirs = REFERENCE[name]().eval()
    with META:
        ours = zoo.build(name)
    ours = ours.to_empty(device="cpu").eval()
    keys = list(ours.state_dict())
    ours.load_state_dict(dict(zip(keys, theirs.state_dict().values())))
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x))


def test_real_forward_at_224_agrees_with_meta_shapes():
    model = zoo.mobilenet_v2().eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 224, 224)).shape == (1, 1000)


def test_lenet5_classic_count_and_shape():
    # LeNet-5 with full C3 connections and a linear output layer, counted layer by layer.
    expected = conv_params(1, 6, 5) + conv_params(6, 16, 5) + conv_params(400, 120, 1) \
        + conv_params(120, 84, 1) + conv_params(84, 10, 1)
    model = zoo.lenet5()
    assert count_parameters(model) == expected == 61_706
    assert model(torch.zeros(2, 1, 32, 32)).shape == (2, 10)


def test_lenet5_small_takes_8x8_digits():
    model = zoo.lenet5(num_classes=10, in_channels=1, small=True)
    assert model(torch.zeros(3, 1, 8, 8)).shape == (3, 10)
    assert zoo.lenet5(num_classes=5, in_channels=3, small=True, width=0.5)(torch.zeros(1, 3, 8, 8)).shape == (1, 5)


def test_lenet5_wrong_input_size_fails():
    with pytest.raises(RuntimeError, match="Kernel size can't be greater"):
        zoo.lenet5()(torch.zeros(1, 1, 8, 8))  # 8x8 digits need small=True
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        zoo.lenet5(small=True)(torch.zeros(1, 1, 32, 32))  # 32x32 needs the classic stem


def test_zfnet_count_from_the_paper_layer_table_and_map_sizes():
    # Zeiler & Fergus (2013), figure 3: 96 7x7/2, 256 5x5/2, 384, 384, 256 3x3, then 4096, 4096, 1000.
    expected = (conv_params(3, 96, 7) + conv_params(96, 256, 5) + conv_params(256, 384, 3)
                + conv_params(384, 384, 3) + conv_params(384, 256, 3) + conv_params(256 * 6 * 6, 4096, 1)
                + conv_params(4096, 4096, 1) + conv_params(4096, 1000, 1))
    with META:
        model = zoo.zfnet()
        assert count_parameters(model) == expected
        x, sides = torch.empty(1, 3, 224, 224), []
        for layer in model.features:
            x = layer(x)
            if not isinstance(layer, torch.nn.ReLU):
                sides.append(x.shape[-1])
    assert sides == [110, 55, 26, 13, 13, 13, 13, 6]
    first = model.features[0]
    assert (first.kernel_size, first.stride) == ((7, 7), (2, 2))


def test_xception_has_the_paper_count():
    with META:
        assert count_parameters(zoo.xception()) == 22_855_952  # Chollet (2017), table 3


def test_googlenet_paper_5x5_adds_the_missing_weights():
    with META:
        diff = count(zoo.googlenet(five_by_five=True)) - count(zoo.googlenet())
    # each "5x5" branch: (25 - 9) * c5_reduce * c5 weights more
    assert diff == sum(16 * s[4] * s[5] for s in zoo.GOOGLENET_MODULES if s != "M")


@pytest.mark.parametrize("name", list(zoo.BUILDERS))
def test_small_variant_trains_on_8x8_digits(name):
    torch.manual_seed(0)
    model = zoo.build(name, num_classes=10, in_channels=1, width=0.125, small=True)
    x, y = torch.randn(4, 1, 8, 8), torch.tensor([0, 1, 2, 3])
    out = model(x)
    assert out.shape == (4, 10)
    torch.nn.functional.cross_entropy(out, y).backward()
    assert all(p.grad is not None for p in model.parameters())
    with META:
        assert count(model) < count(zoo.build(name, num_classes=10, in_channels=1, small=True))


def test_width_matches_torchvision_width_mult():
    with META:
        assert count(zoo.mobilenet_v2(width=0.5)) == count(tv.mobilenet_v2(width_mult=0.5))


def test_every_model_has_features_and_head():
    model = zoo.resnet18(num_classes=10, in_channels=1, small=True)
    assert [name for name, _ in model.named_children()] == ["features", "head"]
    assert isinstance(model.head[-1], torch.nn.Linear) and model.head[-1].out_features == 10


def test_residual_adds_and_dense_concatenates():
    block = zoo.BasicBlock(8, 8).eval()
    for p in block.body.parameters():
        torch.nn.init.zeros_(p)  # F(x) = 0
    x = torch.rand(1, 8, 4, 4)
    torch.testing.assert_close(block(x), x)  # relu(0 + x) = x for x >= 0: an addition
    layer = zoo.DenseLayer(8, growth=4)
    out = layer(x)
    assert out.shape[1] == 12 and torch.equal(out[:, :8], x)  # the input is passed on untouched


def test_residual_wrapper_adds_its_branch_and_is_one_euler_step():
    torch.manual_seed(0)
    f = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Tanh())
    block = Residual(f)
    x = torch.randn(3, 4)
    torch.testing.assert_close(block(x), x + f(x))
    assert [n for n, _ in block.named_parameters()] == ["f.0.weight", "f.0.bias"]  # registered
    torch.nn.init.zeros_(f[0].weight), torch.nn.init.zeros_(f[0].bias)
    torch.testing.assert_close(block(x), x)  # f = 0: the identity
    with pytest.raises(ValueError, match="must keep the shape.*projection shortcut"):
        Residual(torch.nn.Linear(4, 5))(x)


def test_separable_conv_parameter_saving():
    c_in, c_out, k = 32, 64, 3
    separable = count(zoo.separable_conv(c_in, c_out, k))
    assert separable == c_in * k * k + c_in * c_out
    assert separable / count(torch.nn.Conv2d(c_in, c_out, k, bias=False)) == pytest.approx(1 / c_out + 1 / k**2)


def test_blocks_output_shapes():
    x = torch.zeros(1, 64, 8, 8)
    assert zoo.conv_bn_act(64, 16, 3, 2)(x).shape == (1, 16, 4, 4)
    assert zoo.Bottleneck(64, 32, stride=2)(x).shape == (1, 128, 4, 4)
    assert zoo.Inception(64, 8, 8, 16, 4, 8, 8)(x).shape == (1, 40, 8, 8)
    assert zoo.dense_block(64, layers=3, growth=8)(x).shape == (1, 88, 8, 8)
    assert zoo.XceptionBlock(64, 32, reps=3, stride=2, grow_first=False)(x).shape == (1, 32, 4, 4)
    assert zoo.InvertedResidual(64, 24, stride=2, expand=6)(x).shape == (1, 24, 4, 4)


def test_build_unknown_name():
    with pytest.raises(ValueError, match="unknown model 'resnet19'; known: lenet5, alexnet"):
        zoo.build("resnet19")
    with pytest.raises(TypeError, match="name must be a string"):
        zoo.build(18)


def test_build_ignores_case():
    with META:
        model = zoo.build("ResNet18")
        assert count_parameters(model) == count_parameters(zoo.build("resnet18"))
        assert count_parameters(zoo.build("MobileNet_V1")) == 4_231_976


@pytest.mark.parametrize("kwargs, error, match", [
    ({"num_classes": 0}, ValueError, "num_classes must be at least 1"),
    ({"num_classes": True}, TypeError, "num_classes must be a whole number"),
    ({"num_classes": 10.0}, TypeError, "num_classes must be a whole number"),
    ({"in_channels": 0}, ValueError, "in_channels must be at least 1"),
    ({"in_channels": "1"}, TypeError, "in_channels must be a whole number"),
    ({"width": 0}, ValueError, "width is a channel multiplier and must be positive"),
    ({"width": float("inf")}, ValueError, "must be positive and finite"),
    ({"width": True}, TypeError, "width is a channel multiplier, a number"),
    ({"width": "0.5"}, TypeError, "width is a channel multiplier, a number"),
    ({"small": 1}, TypeError, "small must be True or False"),
])
@pytest.mark.parametrize("name", list(zoo.BUILDERS))
def test_bad_arguments_are_explained(name, kwargs, error, match):
    with pytest.raises(error, match=match):
        zoo.build(name, **kwargs)


def test_lenet5_num_classes_true_is_caught_at_the_argument():
    # True is an int to Python; a linear layer with True outputs would fail deep in torch
    with pytest.raises(TypeError, match="num_classes must be a whole number.*True"):
        zoo.lenet5(num_classes=True)
    with pytest.raises(TypeError, match="width"):
        zoo.lenet5(width=True)


@pytest.mark.parametrize("name", ["lenet5", "resnet18", "mobilenet_v1", "googlenet"])
def test_numpy_integers_and_floats_are_accepted(name):
    model = zoo.build(name, num_classes=np.int64(7), in_channels=np.int32(1),
                      width=np.float64(0.125), small=True)
    assert model.head[-1].out_features == 7 and type(model.head[-1].out_features) is int
    assert model.eval()(torch.zeros(2, 1, 8, 8)).shape == (2, 7)


@pytest.mark.parametrize("flag", ["five_by_five", "aux"])
def test_googlenet_flags_must_be_bools(flag):
    with pytest.raises(TypeError, match=f"{flag} must be True or False"):
        zoo.googlenet(**{flag: "yes"})


def test_vgg_pooled_head_flag_must_be_a_bool():
    with pytest.raises(TypeError, match="pooled_head must be True or False"):
        zoo.vgg16(pooled_head=1)


@pytest.mark.parametrize("make, error, match", [
    (lambda: zoo.conv_bn_act(0, 16), ValueError, "c_in must be at least 1"),
    (lambda: zoo.conv_bn_act(3, 16, kernel=2.5), TypeError, "kernel must be a whole number"),
    (lambda: zoo.conv_bn_act(6, 16, groups=4), ValueError, "groups=4 must divide"),
    (lambda: zoo.BasicBlock(16, True), TypeError, "c_out must be a whole number"),
    (lambda: zoo.Bottleneck(64, 16, stride=0), ValueError, "stride must be at least 1"),
    (lambda: zoo.Inception(192, 0, 96, 128, 16, 32, 32), ValueError, "c_out must be at least"),
    (lambda: zoo.DenseLayer(64, growth=True), TypeError, "growth must be a whole number"),
    (lambda: zoo.dense_block(16, layers=0, growth=8), ValueError, "layers must be at least 1"),
    (lambda: zoo.separable_conv(32, 64, stride=None), TypeError, "stride must be a whole"),
    (lambda: zoo.XceptionBlock(64, 128, reps=0), ValueError, "reps must be at least 1"),
    (lambda: zoo.InvertedResidual(16, 16, 1, expand=0), ValueError, "expand must be at least"),
    (lambda: zoo.inception_aux(512, num_classes=0), ValueError, "num_classes must be at least"),
])
def test_blocks_explain_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_count_parameters_trainable_only():
    model = zoo.lenet5()
    model.features.requires_grad_(False)
    frozen = count(model.features)
    assert count_parameters(model, trainable_only=True) == 61_706 - frozen


# ----------------------------------------------------------------------------- the newer builders


def test_mobilenet_v1_matches_the_keras_reference_count_and_its_layer_table():
    # Howard et al. (2017), table 1: a 3x3/2 convolution to 32 channels, 13 depthwise-
    # separable layers, average pooling, a 1000-way linear layer; batch norm (scale and
    # shift) after every convolution. Keras's MobileNet reports 4,231,976 trainable.
    expected, c_in = 3 * 32 * 9 + 2 * 32, 32
    for c_out, _ in zoo.MOBILENET_V1_LAYERS:
        expected += c_in * 9 + 2 * c_in + c_in * c_out + 2 * c_out
        c_in = c_out
    expected += 1024 * 1000 + 1000
    with META:
        model = zoo.mobilenet_v1()
        assert count_parameters(model) == expected == 4_231_976
        sides, x = [], torch.empty(1, 3, 224, 224)
        for layer in model.features:
            x = layer(x)
            sides.append(x.shape[-1])
    assert sides == [112, 112, 56, 56, 28, 28, 14, 14, 14, 14, 14, 14, 7, 7]
    depthwise = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.groups > 1]
    assert len(depthwise) == 13 and all(m.groups == m.in_channels for m in depthwise)


def test_mobilenet_v1_width_multiplier_scales_the_channels():
    with META:
        half = zoo.mobilenet_v1(width=0.5)
    assert half.features[0][0].out_channels == 16 and half.head[-1].in_features == 512


def test_googlenet_aux_heads_have_torchvisions_parameters():
    with META:
        ours = zoo.googlenet(aux=True)
        theirs = tv.googlenet(weights=None, aux_logits=True, init_weights=False)
        assert count_parameters(ours) == count(theirs) == 13_004_888
        assert sorted(t.shape for t in ours.state_dict().values()) == \
            sorted(t.shape for t in theirs.state_dict().values())
        without = zoo.googlenet()
    # the same body and head: only the two auxiliary classifiers are new
    assert count_parameters(ours.features) + count_parameters(ours.head) == count(without)
    assert [aux[1][0].in_channels for aux in ours.aux.values()] == [512, 528]  # 4a, 4d


def test_googlenet_aux_outputs_in_training_only():
    torch.manual_seed(0)
    model = zoo.googlenet(num_classes=10, width=0.125, small=True, aux=True)
    x = torch.randn(2, 3, 8, 8)
    out = model(x)
    assert isinstance(out, zoo.AuxOutputs) and [o.shape for o in out] == [(2, 10)] * 3
    # the auxiliary losses send gradient into the body's middle (module 3a) ...
    (out.aux1.sum()).backward()
    assert model.features[3].branches[0][0].weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.head.parameters())
    # ... and at inference they are switched off: the logits alone, equal to the main head's
    model.eval()
    with torch.no_grad():
        logits = model(x)
        body = x
        for layer in model.features:
            body = layer(body)
        torch.testing.assert_close(logits, model.head(body))


def test_vgg_pooled_head_drops_the_fully_connected_layers():
    with META:
        mlp, pooled = zoo.vgg16(), zoo.vgg16(pooled_head=True)
        convs = count_parameters(mlp.features)
        assert count_parameters(pooled) == convs + 512 * 1000 + 1000
        assert count_parameters(mlp.head) / count_parameters(mlp) > 0.89
        assert pooled(torch.empty(1, 3, 224, 224)).shape == (1, 1000)
    assert zoo.vgg11(num_classes=10, in_channels=1, width=0.125, small=True,
                     pooled_head=True)(torch.zeros(1, 1, 8, 8)).shape == (1, 10)


def test_inception_pool_branch_projects_after_pooling():
    branch = zoo.Inception(192, 64, 96, 128, 16, 32, 32).branches[3]
    assert isinstance(branch[0], torch.nn.MaxPool2d) and branch[1][0].kernel_size == (1, 1)
    assert branch[1][0].in_channels == 192 and branch[1][0].out_channels == 32


def test_withauxheads_without_taps_is_the_plain_model():
    torch.manual_seed(0)
    plain = zoo.lenet5(small=True)
    wrapped = zoo.WithAuxHeads(plain.features, plain.head, {})
    x = torch.randn(3, 1, 8, 8)
    torch.testing.assert_close(wrapped(x), plain(x))
    one = zoo.WithAuxHeads(plain.features, plain.head, {2: zoo.inception_aux(6, 10)})
    assert one(x).aux2 is None and one(x).aux1.shape == (3, 10)
    with pytest.raises(ValueError, match="at most two auxiliary heads.*got them after \\[9\\]"):
        zoo.WithAuxHeads(plain.features, plain.head, {9: torch.nn.Identity()})
