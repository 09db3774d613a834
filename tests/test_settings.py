import pytest

from banyan.errors import ConfigError
from banyan.settings import Settings, load_settings, settings_to_toml


def test_defaults_live_in_settings():
    s = Settings()
    assert s.embedding.backend == "onnx" and s.retrieval.default_mode == "auto"


def test_precedence_overrides_env_file(tmp_path, monkeypatch):
    (tmp_path / "banyan.toml").write_text('[chunking]\nmax_tokens = 100\n[retrieval]\nk = 3\nrrf_k = 10\n')
    monkeypatch.setenv("BANYAN_RETRIEVAL__K", "7")
    s = load_settings(tmp_path, {"retrieval": {"rrf_k": 99}})
    assert s.chunking.max_tokens == 100  # file
    assert s.retrieval.k == 7  # env beats file
    assert s.retrieval.rrf_k == 99  # override beats file
    assert s.index.dir == tmp_path


def test_invalid_values_raise_config_error(tmp_path):
    with pytest.raises(ConfigError, match="overlap"):
        load_settings(None, {"chunking": {"max_tokens": 20, "overlap_tokens": 20}})
    with pytest.raises(ConfigError):
        load_settings(None, {"embedding": {"backend": "nope"}})
    with pytest.raises(ConfigError):
        load_settings(None, {"no_such_section": {}})
    (tmp_path / "banyan.toml").write_text("not = [toml")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings(tmp_path)


def test_toml_round_trip_omits_secrets(tmp_path):
    s = load_settings(None, {"embedding": {"api_key": "sk-secret", "backend": "hash"}})
    text = settings_to_toml(s)
    assert "sk-secret" not in text
    (tmp_path / "banyan.toml").write_text(text)
    assert load_settings(tmp_path).embedding.backend == "hash"
