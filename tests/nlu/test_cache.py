"""The model kept on disk: the same numbers as the one trained, a new name for new examples or
code, no scikit-learn in a process that reads one, no error where nothing can be written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.nlu import cache
from bot.nlu.data import Example, load_examples
from bot.nlu.facts import find, mask
from bot.nlu.model import ANALYZERS, Model, Settings, analyze, train
from bot.nlu.text import fold

ROOT = Path(__file__).resolve().parents[2]
TEXTS = ["minha net caiu", "quanto custa o plano de 300 mega?", "oi", "zzzz qqq", "👍", ""]


@pytest.fixture(scope="module")
def model() -> Model:
    return train(load_examples())


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OZBOT_NLU_CACHE", str(tmp_path))
    return tmp_path


def test_the_analyzers_are_scikit_learns(model: Model) -> None:
    texts = [fold(mask(e.text, find(e.text, common=model.common_words))) for e in load_examples()]
    texts += ["a", "ab  cd", "Oi  ABC", "x" * 7]
    for kind, low, high in ANALYZERS:
        extra = {"token_pattern": r"\S+"} if kind == "word" else {}
        theirs = TfidfVectorizer(analyzer=kind, ngram_range=(low, high), **extra)
        analyzer = theirs.build_analyzer()
        assert [analyze(kind, low, high, t) for t in texts] == [analyzer(t) for t in texts]


def test_a_kept_model_reads_as_the_trained_one(model: Model, folder: Path) -> None:
    path = cache.save("some", model)
    assert path is not None and path.parent == folder
    loaded = cache.load("some")
    assert loaded is not None and loaded.cached and not model.cached
    assert loaded.fitted == () and loaded.size == model.size
    assert loaded.common_words == model.common_words
    for text in TEXTS:
        ours, theirs = loaded.scores(fold(text)), model.scores(fold(text))
        for mine, trained in zip(ours, theirs, strict=True):
            assert mine.keys() == trained.keys()
            assert np.allclose(list(mine.values()), list(trained.values()))
    assert [p.name for p in folder.iterdir()] == ["some.npz"]  # no temporary left


def test_a_kept_model_keeps_its_sharpness(folder: Path) -> None:
    sharp = train(load_examples()[::10], Settings(sharpness=9.0))
    cache.save("sharp", sharp)
    loaded = cache.load("sharp")
    assert loaded is not None and loaded.sharpness == 9.0
    for text in TEXTS:
        assert np.allclose(
            list(loaded.scores(fold(text))[0].values()), list(sharp.scores(fold(text))[0].values())
        )


def test_only_the_newest_models_are_kept(model: Model, folder: Path) -> None:
    for n in range(cache.KEPT + 2):
        path = cache.save(f"model{n}", model)
        assert path is not None
        os.utime(path, (1_000_000 + n, 1_000_000 + n))
    cache.save("last", model)
    kept = {p.name for p in folder.iterdir()}
    assert len(kept) == cache.KEPT and "last.npz" in kept and "model0.npz" not in kept


def test_the_name_changes_with_any_example() -> None:
    examples = [Example("oi", "greet", "pt_BR"), Example("valeu", "thank", "pt_BR")]
    changed = [examples[0], Example("valeu", "goodbye", "pt_BR")]
    assert cache.key(examples) == cache.key(list(examples))
    assert len({cache.key(examples), cache.key(changed), cache.key(examples[:1])}) == 3


@pytest.mark.parametrize("value", ["off", "", "0"])
def test_the_cache_can_be_off(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("OZBOT_NLU_CACHE", value)
    assert cache.directory() is None
    assert cache.load("any") is None


def test_the_default_place_is_the_users_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OZBOT_NLU_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere")
    assert cache.directory() == Path("/somewhere/ozbot/nlu")


def test_nothing_writable_is_no_error(
    model: Model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    monkeypatch.setenv("OZBOT_NLU_CACHE", str(blocked / "nlu"))
    assert cache.save("some", model) is None
    assert cache.load("some") is None


def test_a_place_this_user_cannot_read_is_no_error(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # as when the server runs as another user than the home's (tests run as root, whom
    # permissions do not stop: the refusal is the operating system's, so it is made here)
    def refuse(self: Path) -> bool:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "is_file", refuse)
    assert cache.load("some") is None


def test_a_damaged_file_is_trained_over(folder: Path) -> None:
    (folder / "some.npz").write_bytes(b"PK\x03\x04 not really")
    assert cache.load("some") is None


def test_a_process_with_a_kept_model_does_not_import_scikit_learn(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from bot.nlu.embedded import EmbeddedUnderstander\n"
        "nlu = EmbeddedUnderstander()\n"
        "print(nlu.model.cached, nlu.read('minha net caiu').intent, 'sklearn' in sys.modules)\n"
    )
    env = {**os.environ, "OZBOT_NLU_CACHE": str(tmp_path)}

    def run() -> str:
        done = subprocess.run(  # noqa: S603 (this interpreter, a fixed script)
            [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert run() == "False outage True"  # trained, and kept
    assert run() == "True outage False"  # read back: no scikit-learn imported
