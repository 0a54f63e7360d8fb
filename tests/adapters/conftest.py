from __future__ import annotations

import pytest

import adapters.anhui
import adapters.jiangsu
import adapters.zhejiang
from gateway.dialects import Adapter, CanonicalAdapter

FACTORIES = {
    "SH": CanonicalAdapter,
    "JS": adapters.jiangsu.create_adapter,
    "ZJ": adapters.zhejiang.create_adapter,
    "AH": adapters.anhui.create_adapter,
}
ADAPTERS = {region: factory() for region, factory in FACTORIES.items()}


@pytest.fixture(params=sorted(ADAPTERS))
def adapter(request) -> Adapter:
    return ADAPTERS[request.param]
