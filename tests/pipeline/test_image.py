from pipeline import image


def test_the_build_gets_the_system_ca_bundle_by_default(tmp_path, monkeypatch):
    for variable in ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        monkeypatch.delenv(variable, raising=False)
    system = tmp_path / "ca-certificates.crt"
    system.write_text("CERT")
    assert image.ca_bundle([str(tmp_path / "missing.pem"), str(system)]) == str(system)
    assert image.ca_bundle([str(tmp_path / "missing.pem")]) is None
    named = tmp_path / "proxy.pem"
    named.write_text("CERT")
    monkeypatch.setenv("SSL_CERT_FILE", str(named))
    assert image.ca_bundle([str(system)]) == str(named)  # what the user names comes first
