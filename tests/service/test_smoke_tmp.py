from tests.service.conftest import API_KEY, http


def test_smoke(env, coordinator):
    base = coordinator()
    st, body, _ = http("POST", base + "/v1/mpic", {"check_type": "caa", "domain_or_ip_target": "caa-permit.mpic.test"},
                       headers={"x-api-key": API_KEY})
    print(st, body)
    assert st == 200
    assert body["is_valid"] is True
