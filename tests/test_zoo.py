import pytest
import torch
import torchvision

from utils import zoo

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


def test_builders_are_the_fifteen_of_the_chapter():
    assert list(zoo.BUILDERS) == ["lenet5", "alexnet", "zfnet", "vgg11", "vgg16", "vgg19", "googlenet",
                                  "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
                                  "densenet121", "xception", "mobilenet_v2"]
    assert set(REFERENCE) < set(zoo.BUILDERS)


@pytest.mark.parametrize("name", list(REFERENCE))
def test_same_parameter_count_and_tensor_shapes_as_torchvision(name):
    with META:
        ours, theirs = zoo.build(name), REFERENCE[name]()
        assert zoo.count_parameters(ours) == count(theirs)
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
    assert zoo.count_parameters(model) == expected == 61_706
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
        assert zoo.count_parameters(model) == expected
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
        assert zoo.count_parameters(zoo.xception()) == 22_855_952  # Chollet (2017), table 3


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
    block = zoo.Residual(f)
    x = torch.randn(3, 4)
    torch.testing.assert_close(block(x), x + f(x))
    assert [n for n, _ in block.named_parameters()] == ["f.0.weight", "f.0.bias"]  # registered
    torch.nn.init.zeros_(f[0].weight), torch.nn.init.zeros_(f[0].bias)
    torch.testing.assert_close(block(x), x)  # f = 0: the identity
    with pytest.raises(ValueError, match="must keep the shape.*projection shortcut"):
        zoo.Residual(torch.nn.Linear(4, 5))(x)


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


@pytest.mark.parametrize("kwargs, match", [
    ({"num_classes": 0}, "num_classes must be a positive int"),
    ({"in_channels": 0}, "in_channels must be a positive int"),
    ({"width": 0}, "width is a channel multiplier"),
])
@pytest.mark.parametrize("name", ["lenet5", "resnet18"])
def test_bad_arguments_are_explained(name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        zoo.build(name, **kwargs)


def test_count_parameters_trainable_only():
    model = zoo.lenet5()
    model.features.requires_grad_(False)
    frozen = count(model.features)
    assert zoo.count_parameters(model, trainable_only=True) == 61_706 - frozen
