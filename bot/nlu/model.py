"""The classifiers: which intent a folded text expresses, and which language it is written in.

Both read the same features, fitted by scikit-learn on the examples: TF-IDF of character
n-grams within words (2 to 5 letters: "caiu", "caiuu" and "caio" share most of them, so typos
cost little), of words and word pairs, and of character n-grams across words (2 to 5: "not
now" and "no, not" share "t no" and "not"; measured +0.003 to +0.005 held-out macro-F1 in en
and es, and 2 rather than 3 letters +0.000 to +0.002 more). Each is a linear SVM
(``LinearSVC``: it trains in a fraction of a second on a few thousand examples, where a
logistic regression takes seven times as long); its margins pass through a softmax for scores
that add up to one. :class:`Settings` holds these choices; ``ozbot nlu test --set`` measures
others.

Held-out macro-F1 (``ozbot nlu test --folds 5 --repeats 2``, mean/worst fold), seed 2024:
pt_BR 0.962/0.941, en 0.935/0.925, es 0.930/0.912; ``--seed 7``: 0.960/0.953, 0.935/0.923,
0.935/0.921. The 0.95 of issue 9 is not met in en and es, and no setting of this model meets
it: per-language classifiers (-0.006 to -0.015: the languages share roots, brands, emoji),
language-crossed features, C, class weights, sharpness, other n-gram ranges, NB-SVM, a nearest-
neighbour blend, word dropout: all measured within ±0.003 of this model or below it, on
other seeds than these. What is left are meanings a bag of n-grams has not seen ("will it rain
this weekend?" is no installation question).

Predicting goes through :meth:`Model.scores`, which applies the fitted vocabularies, IDF weights
and coefficients directly (a sparse dot product with numpy) instead of scikit-learn's
``transform`` and ``decision_function``: same numbers (a test checks it), a tenth of the time,
because a message is one row and scikit-learn's per-call checks cost more than the arithmetic.

A model is made once per process and set of examples (:func:`trained`): read from the disk
cache (:mod:`bot.nlu.cache`) when the same examples and code trained one before, else trained
here, the only time scikit-learn is imported. The n-grams are cut by :func:`analyze`, as
scikit-learn cuts them, so a cached model reads messages with numpy alone.
"""

from __future__ import annotations

import functools
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from bot.nlu.answers import FREQUENT_NAMES
from bot.nlu.data import Example, load_examples
from bot.nlu.facts import find, mask
from bot.nlu.text import fold, words

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

__all__ = ["ANALYZERS", "Model", "Settings", "dedupe", "train", "trained"]

#: softmax temperature over SVM margins: margins of about +1 for the chosen class and -1 for the
#: others give it ~0.9 among a few close rivals, and a near tie stays a near tie
SHARPNESS = 4.0

#: how many texts' scores a model keeps (:meth:`Model.scores`): a few hundred kB
SCORED = 2048

# intents whose examples are data (names among them): their words are not "common"
_DATA_INTENTS = frozenset({"inform", "correct"})

_SPLIT = r"\S+"
_SPACES = re.compile(r"\s\s+")
_TOKENS = re.compile(_SPLIT)

#: the feature blocks, ``(analyzer, smallest n, largest n)``: character n-grams within words,
#: words and word pairs (a word is anything between spaces: fold() already split off "?" and
#: emoji), and character n-grams across the spaces
ANALYZERS = (("char_wb", 2, 5), ("word", 1, 2), ("char", 2, 5))

Vector = tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]


@dataclass(frozen=True)
class Settings:
    """How a model is trained and how sharp its scores are: the shipped choices by default.
    ``ozbot nlu test --set c=2 --set sharpness=6`` measures others (see the NLU note for the
    variants tried and their figures)."""

    #: the feature blocks, ``(analyzer, smallest n, largest n)``
    analyzers: tuple[tuple[str, int, int], ...] = ANALYZERS
    #: the SVMs' C: lower is smoother
    c: float = 1.0
    #: ``"balanced"`` weighs each intent's errors by how few examples it has
    class_weight: str | None = None
    #: the softmax temperature over the margins (:data:`SHARPNESS`)
    sharpness: float = SHARPNESS

    @classmethod
    def parse(cls, items: Sequence[str]) -> Settings:
        """Settings from ``name=value`` items: ``c=2``, ``sharpness=6``,
        ``class_weight=balanced``, ``analyzers=char_wb:2:5,word:1:2,char:3:5``.

        Raises ValueError for an unknown name or a value that is not one."""
        values: dict[str, Any] = {}
        for item in items:
            name, sep, raw = item.partition("=")
            name, raw = name.strip().replace("-", "_"), raw.strip()
            if not sep or name not in cls.__dataclass_fields__:
                raise ValueError(f"not a setting: {item!r} (name=value, one of {_NAMES})")
            if name in ("c", "sharpness"):
                values[name] = float(raw)
                if values[name] <= 0:
                    raise ValueError(f"{name} must be above 0")
            elif name == "class_weight":
                if raw.lower() not in ("", "none", "balanced"):
                    raise ValueError(f"class_weight is none or balanced: {raw!r}")
                values[name] = None if raw.lower() in ("", "none") else "balanced"
            else:
                values[name] = tuple(_analyzer(block) for block in raw.split(","))
        return cls(**values)

    def describe(self) -> str:
        """The settings that differ from the shipped ones, ``name=value`` (empty: none)."""
        shipped = Settings()
        changed = []
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if value != getattr(shipped, name):
                if name == "analyzers":
                    value = ",".join(f"{k}:{low}:{high}" for k, low, high in value)
                changed.append(f"{name}={value}")
        return " ".join(changed)


def _analyzer(block: str) -> tuple[str, int, int]:
    kind, _, span = block.strip().partition(":")
    low, _, high = span.partition(":")
    if kind not in ("char_wb", "word", "char") or not (low.isdigit() and high.isdigit()):
        raise ValueError(f"an analyzer is char_wb, word or char with its n range: {block!r}")
    if not 1 <= int(low) <= int(high):
        raise ValueError(f"an n range goes up: {block!r}")
    return kind, int(low), int(high)


_NAMES = ", ".join(Settings.__dataclass_fields__)


def analyze(kind: str, low: int, high: int, text: str) -> list[str]:
    """The n-grams of ``text`` as scikit-learn's ``TfidfVectorizer(analyzer=kind,
    ngram_range=(low, high))`` makes them, words split at spaces (a test checks it on every
    example): the same here so that a model loaded from the cache needs no scikit-learn."""
    text = text.lower()
    grams: list[str] = []
    if kind == "char_wb":
        for word in _SPACES.sub(" ", text).split():
            padded = f" {word} "
            size = len(padded)
            for n in range(low, high + 1):
                if n > size:
                    grams.append(padded)  # a short word counts once, whole
                    break
                grams += [padded[i : i + n] for i in range(size - n + 1)]
                if n == size:
                    break
        return grams
    if kind == "char":  # across words: "nao quero" keeps "o q" that no word has
        text = _SPACES.sub(" ", text)
        for n in range(low, min(high, len(text)) + 1):
            grams += [text[i : i + n] for i in range(len(text) - n + 1)]
        return grams
    tokens = _TOKENS.findall(text)
    for n in range(low, min(high, len(tokens)) + 1):
        grams += [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return grams


@dataclass(frozen=True)
class _Features:
    kind: str
    low: int
    high: int
    vocabulary: dict[str, int]
    idf: npt.NDArray[np.float64]
    offset: int

    @classmethod
    def of(cls, vectorizer: TfidfVectorizer, offset: int) -> _Features:
        low, high = vectorizer.ngram_range
        return cls(
            str(vectorizer.analyzer),
            low,
            high,
            dict(vectorizer.vocabulary_),
            np.asarray(vectorizer.idf_, dtype=np.float64),
            offset,
        )

    @functools.cached_property
    def _columns(self) -> tuple[dict[str, int], list[float]]:
        """Each n-gram's column in the whole row (``offset`` added), and the IDF weights as a
        list: a gram costs one dictionary probe and no numpy call per block (on a message of a
        few words those calls cost more than the arithmetic)."""
        offset = self.offset
        return {g: i + offset for g, i in self.vocabulary.items()}, self.idf.tolist()

    def row(self, text: str, index: list[int], values: list[float]) -> None:
        """Append the L2-normalised sublinear TF-IDF entries of ``text`` (as TfidfVectorizer
        makes them, columns counted from ``offset``) to ``index`` and ``values``."""
        columns, idf = self._columns
        counts: dict[int, int] = {}
        for gram in analyze(self.kind, self.low, self.high, text):
            column = columns.get(gram)
            if column is not None:
                counts[column] = counts.get(column, 0) + 1
        if not counts:
            return
        offset = self.offset
        weights = [
            (1.0 + math.log(n)) * idf[c - offset] if n > 1 else idf[c - offset]
            for c, n in counts.items()
        ]
        norm = math.sqrt(math.fsum(w * w for w in weights))
        index += counts
        values += [w / norm for w in weights]

    def vector(self, text: str) -> Vector:
        """The L2-normalised sublinear TF-IDF row of ``text``, as TfidfVectorizer makes it."""
        index: list[int] = []
        values: list[float] = []
        self.row(text, index, values)
        return np.array(index, dtype=np.intp), np.array(values, dtype=np.float64)


def _vectorizers(settings: Settings) -> list[TfidfVectorizer]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return [
        TfidfVectorizer(
            analyzer=kind,
            ngram_range=(low, high),
            sublinear_tf=True,
            **({"token_pattern": _SPLIT} if kind == "word" else {}),
        )
        for kind, low, high in settings.analyzers
    ]


@dataclass(frozen=True)
class _Linear:
    labels: tuple[str, ...]
    weights: npt.NDArray[np.float64]  # features x labels
    bias: npt.NDArray[np.float64]


def _linear(svm: LinearSVC) -> _Linear:
    classes = tuple(str(c) for c in svm.classes_)
    weights = np.asarray(svm.coef_, dtype=np.float64)
    bias = np.asarray(svm.intercept_, dtype=np.float64)
    if len(classes) == 2:  # a binary SVM keeps one row: the second class's side
        weights, bias = np.vstack([-weights, weights]), np.concatenate([-bias, bias])
    return _Linear(classes, np.ascontiguousarray(weights.T), bias)


@dataclass(frozen=True)
class Model:
    """Fitted classifiers. ``seconds`` is how long training took."""

    features: tuple[_Features, ...]
    intent: _Linear
    language: _Linear
    seconds: float
    size: int  # examples trained on
    #: words customers use for anything but data: a name is made of none of them
    common_words: frozenset[str]
    #: the fitted scikit-learn objects (vectorizers, intent SVM, language SVM), for checking
    fitted: tuple[Any, ...] = ()
    #: read from the cache (:mod:`bot.nlu.cache`) rather than trained in this process
    cached: bool = False
    #: the softmax temperature over the margins (:attr:`Settings.sharpness`)
    sharpness: float = SHARPNESS

    @property
    def intents(self) -> tuple[str, ...]:
        return self.intent.labels

    def vector(self, folded: str) -> Vector:
        """The message's row of features: every block's entries, columns from its offset."""
        index: list[int] = []
        values: list[float] = []
        for block in self.features:
            block.row(folded, index, values)
        return np.array(index, dtype=np.intp), np.array(values, dtype=np.float64)

    @functools.cached_property
    def _both(self) -> _Linear:
        """Both classifiers side by side: one gather of the message's feature rows for two."""
        return _Linear(
            self.intent.labels + self.language.labels,
            np.ascontiguousarray(np.hstack([self.intent.weights, self.language.weights])),
            np.concatenate([self.intent.bias, self.language.bias]),
        )

    def scores(self, folded: str) -> tuple[dict[str, float], dict[str, float]]:
        """``(intent scores, language scores)`` of a folded text, each adding up to one (the
        caller's own dictionaries: changing them changes nothing kept)."""
        intents, languages = self._scored(folded)
        return dict(intents), dict(languages)

    @functools.cached_property
    def _scored(self) -> Callable[[str], tuple[dict[str, float], dict[str, float]]]:
        """:meth:`_score`, its last :data:`SCORED` texts kept: a few short texts are most of
        what customers send ("oi", "sim", "1", "ok"), and a masked address or code reads the
        same whichever it was (a name does not repeat: it costs a place, nothing more)."""
        return functools.lru_cache(maxsize=SCORED)(self._score)

    def _score(self, folded: str) -> tuple[dict[str, float], dict[str, float]]:
        index, values = self.vector(folded)
        both = self._both
        margins = values @ both.weights[index] + both.bias
        split = len(self.intent.labels)
        sharpness = self.sharpness
        return (
            dict(zip(self.intent.labels, _softmax(margins[:split], sharpness), strict=True)),
            dict(zip(self.language.labels, _softmax(margins[split:], sharpness), strict=True)),
        )


def _softmax(margins: npt.NDArray[np.float64], sharpness: float) -> list[float]:
    exp = np.exp(sharpness * (margins - margins.max()))
    result: list[float] = (exp / exp.sum()).tolist()
    return result


def dedupe(examples: Sequence[Example]) -> list[Example]:
    """The examples less those whose folded text an earlier one already has (the first label
    stands; the data tests make sure no text carries two)."""
    seen: set[str] = set()
    kept = []
    for example in examples:
        key = fold(example.text)
        if key and key not in seen:
            seen.add(key)
            kept.append(example)
    return kept


def train(examples: Sequence[Example], settings: Settings | None = None) -> Model:
    """Classifiers fitted on ``examples`` (deduplicated after folding), as ``settings`` say
    (the shipped ones by default)."""
    settings = settings or Settings()
    began = time.perf_counter()
    kept = dedupe(examples)
    folded = [fold(e.text) for e in kept]
    common = (
        frozenset(
            w
            for e, t in zip(kept, folded, strict=True)
            if e.intent not in _DATA_INTENTS
            for w in words(t)
        )
        - FREQUENT_NAMES
    )
    # the data masked as the understander masks it when reading (see bot.nlu.facts)
    texts = [fold(mask(e.text, find(e.text, common=common))) for e in kept]
    # scikit-learn only to train (seconds to import): a cached model does without
    from scipy.sparse import hstack  # scikit-learn's own dependency
    from sklearn.svm import LinearSVC

    vectorizers = _vectorizers(settings)
    matrices = [v.fit_transform(texts) for v in vectorizers]
    matrix = hstack(matrices).tocsr()
    offsets = np.cumsum([0] + [m.shape[1] for m in matrices])
    features = tuple(_Features.of(v, int(o)) for v, o in zip(vectorizers, offsets, strict=False))
    intent_svm = LinearSVC(C=settings.c, class_weight=settings.class_weight, random_state=0)
    intent_svm.fit(matrix, [e.intent for e in kept])
    language_svm = LinearSVC(C=1.0, random_state=0).fit(matrix, [e.language for e in kept])
    return Model(
        features,
        _linear(intent_svm),
        _linear(language_svm),
        time.perf_counter() - began,
        len(kept),
        common,
        (*vectorizers, intent_svm, language_svm),
        sharpness=settings.sharpness,
    )


ExtraKey = tuple[tuple[str, str, tuple[str, ...]], ...]


def trained(extra: ExtraKey = ()) -> Model:
    """The model of the shipped examples plus ``extra`` (``(intent, language, examples)``
    triples), made once per process for each ``extra``: read from the cache when these
    examples and this code trained one before (:mod:`bot.nlu.cache`), else trained and kept."""
    return _trained(extra)


@functools.lru_cache(maxsize=8)
def _trained(extra: ExtraKey) -> Model:
    from bot.nlu import cache  # it reads this module's classes

    mapping: dict[str, dict[str, list[str]]] = {}
    for intent, language, texts in extra:
        mapping.setdefault(intent, {}).setdefault(language, []).extend(texts)
    examples = load_examples(mapping)
    name = cache.key(examples)
    model = cache.load(name)
    if model is None:
        model = train(examples)
        cache.save(name, model)
    return model
