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


def test_auto_uncovered_is_checked_and_follows_an_explicit_auto_with_graph() -> None:
    import pytest

    from banyan.settings import RetrievalSettings

    assert RetrievalSettings().auto_uncovered == "hybrid+ppr"
    # settings from before auto_uncovered existed that chose auto_with_graph keep their choice everywhere
    assert RetrievalSettings(auto_with_graph="hybrid").auto_uncovered == "hybrid"
    assert RetrievalSettings(auto_with_graph="hybrid", auto_uncovered="graph").auto_uncovered == "graph"
    with pytest.raises(ValueError, match="auto_uncovered"):
        RetrievalSettings(auto_uncovered="nope")


def test_the_languages_an_embedder_reads_are_known_without_loading_it() -> None:
    from banyan.embed import create_embedder, embedder_languages
    from banyan.settings import EmbeddingSettings

    assert embedder_languages(EmbeddingSettings()) == {"en"}  # the bundled MiniLM
    assert embedder_languages(EmbeddingSettings(backend="sentence-transformers")) == {"en"}
    assert embedder_languages(EmbeddingSettings(backend="e5")) is None
    assert embedder_languages(EmbeddingSettings(backend="hash")) is None
    assert embedder_languages(EmbeddingSettings(model="/models/multilingual", languages=["en", "zh"])) == {"en", "zh"}
    for cfg in (EmbeddingSettings(backend="hash"), EmbeddingSettings(backend="hash", languages=["en"])):
        assert create_embedder(cfg).languages == embedder_languages(cfg)  # the loaded model says the same
    import pytest

    with pytest.raises(ValueError, match="'english' is not a language"):  # would switch dense off unnoticed
        EmbeddingSettings(languages=["english"])
    from banyan.settings import LANGUAGES
    from banyan.text import detect_lang

    assert {detect_lang("Where was Ada born?"), detect_lang("青石桥的设计者是谁")} == set(LANGUAGES)
