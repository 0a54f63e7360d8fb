from __future__ import annotations

import pytest

import adapters.anhui
import adapters.jiangsu
import adapters.zhejiang
from gateway.dialects import Dialect, canonical_dialect

FACTORIES = {
    "SH": canonical_dialect,
    "JS": adapters.jiangsu.create_adapter,
    "ZJ": adapters.zhejiang.create_adapter,
    "AH": adapters.anhui.create_adapter,
}
DIALECTS = {region: factory() for region, factory in FACTORIES.items()}
CODECS = {region: dialect.codec for region, dialect in DIALECTS.items()}


@pytest.fixture(params=sorted(DIALECTS))
def dialect(request) -> Dialect:
    return DIALECTS[request.param]
