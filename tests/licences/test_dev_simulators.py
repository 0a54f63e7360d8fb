"""``yrdgw serve --dev`` gives each province simulator its licence authority: a Jiangsu
simulator on loopback answers an evidence request, in Jiangsu's own dialect, with the
certificate and the licence signed by Jiangsu's registry key, holder key included."""

from __future__ import annotations

import base64
from types import SimpleNamespace

import aiohttp
from aiohttp import web

from gateway.app.serve import _give_simulators_their_idp_keys
from gateway.dialects import default_dialects
from gateway.identity import LegalPerson, derive_person_key
from gateway.licences import verify_licence
from tests.licences.support import Licences, _now

SECRET = b"a test person-key secret of 32 bytes!!"
USCC = "91320500MA1YRD0013"  # 苏州示例电子有限公司, SAMPLE DATA in adapters/jiangsu


async def test_dev_simulator_signs_licences_with_the_registry_key(tmp_path):
    lic = Licences.make(tmp_path)
    dialect = default_dialects().get("JS")
    app = dialect.simulator()
    _give_simulators_their_idp_keys(SimpleNamespace(apps={"JS": app}), lic.env, SECRET)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    holder = derive_person_key(LegalPerson("苏州示例电子有限公司", USCC, "示例代表"), SECRET)
    query = dialect.codec.from_canonical("evidence.request", {
        "request_id": "JS-DEV-1", "certificate_type": "business_licence", "subject_uscc": None,
        "subject_person_key": holder, "purpose": "核验（示例）", "requester": "合肥（示例）",
    })  # fmt: skip
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"http://127.0.0.1:{port}/api/v1/licences/query", data=query,
                timeout=aiohttp.ClientTimeout(total=30),
            ) as response:  # fmt: skip
                assert response.status == 200, await response.text()
                raw = await response.read()
    finally:
        await runner.cleanup()
    assert b"signedLicence" in raw  # Jiangsu's own field name
    answer = dialect.codec.to_canonical("evidence.response", raw)
    assert answer["certificate_number"] == "91************0013"  # asked by key: masked
    licence = base64.b64decode(answer["licence"])
    got = verify_licence(licence, registry=lic.registry(), now=_now(), holder_key=holder)
    assert got.issuer.region == "JS" and got.licence_type == "business_licence"
    assert USCC.encode() not in licence
