"""How well the embedded understander reads messages it never trained on, as ``rasa test nlu``
reports it: a fixed-seed split of the examples, stratified by language and intent, training on
one part and reading the other (held-out) part with the whole understander (classifier and
rules, nothing expected), then per language: each intent's precision, recall, F1 and support,
the macro-F1, and the confusions (which intent was taken for which, with the examples).

The split is made after folding and de-duplicating the examples, so no held-out text is, once
folded, a text the model trained on; and near-duplicates (folded texts at least :data:`NEAR`
similar: "bom dia" and "bom diaa", "thank you" and "thank youu") are kept on one side of it, so
a typo variant of a training example does not pass for an unseen message.

One split is one draw: with 3 to 10 held-out messages per intent, a single error moves an
intent's F1 by several points. :func:`cross_validate` gives the steadier figure: stratified
k-fold (every example held out once per repeat, repeats reshuffled), the macro-F1 of each fold,
and per language its mean and minimum, with each intent's mean F1 and the confusions summed
over the folds.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz, process
from scipy.sparse import csr_matrix  # scikit-learn's own dependency
from scipy.sparse.csgraph import connected_components
from sklearn.metrics import precision_recall_fscore_support
from sklearn.model_selection import StratifiedGroupKFold

from bot.nlu.data import LANGUAGES, Example, load_examples
from bot.nlu.embedded import EmbeddedUnderstander
from bot.nlu.model import Settings, dedupe, train
from bot.nlu.text import fold

__all__ = [
    "SEED",
    "TEST_FRACTION",
    "CrossReport",
    "IntentScore",
    "LanguageReport",
    "Report",
    "cross_validate",
    "evaluate",
    "near_duplicates",
    "split",
]

SEED = 2024
TEST_FRACTION = 0.25
#: rapidfuzz's normalised Indel similarity (0-100) from which two folded texts are near-duplicates
#: ("oi boa tarde" and "oii boa tarde" are 96, "hello" and "helloo" 91, "oi" and "oii" 80)
NEAR = 90
#: how an intent the understander did not settle on shows in the report
NO_INTENT = "(none)"
_SHOWN_EXAMPLES = 3
_SHOWN_CONFUSIONS = 12


@dataclass(frozen=True)
class IntentScore:
    intent: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class LanguageReport:
    language: str
    scores: list[IntentScore]
    accuracy: float
    #: ``(true intent, predicted intent) -> held-out texts``
    confusions: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    @property
    def macro_f1(self) -> float:
        return sum(s.f1 for s in self.scores) / len(self.scores) if self.scores else 0.0

    @property
    def support(self) -> int:
        return sum(s.support for s in self.scores)


@dataclass
class Report:
    seed: int
    test_fraction: float
    trained_on: int
    held_out: int
    training_seconds: float
    languages: dict[str, LanguageReport]
    settings: Settings = field(default_factory=Settings)

    def render(self) -> str:
        lines = [
            f"trained on {self.trained_on} examples in {self.training_seconds:.2f} s, "
            f"held out {self.held_out} (seed {self.seed}, {self.test_fraction:.0%}, stratified by "
            "language and intent, no held-out text a training one or its near-duplicate once "
            "folded)" + _settings_line(self.settings),
        ]
        for report in self.languages.values():
            lines += ["", f"== {report.language}: macro-F1 {report.macro_f1:.3f}, accuracy "
                      f"{report.accuracy:.3f} on {report.support} held-out messages"]  # fmt: skip
            lines.append(f"{'intent':<18} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8}")
            for s in report.scores:
                lines.append(
                    f"{s.intent:<18} {s.precision:>9.3f} {s.recall:>7.3f} {s.f1:>6.3f} "
                    f"{s.support:>8}"
                )
            if report.confusions:
                lines.append("confusions (true -> taken for):")
            ranked = sorted(report.confusions.items(), key=lambda kv: (-len(kv[1]), kv[0]))
            for (true, taken), texts in ranked:
                shown = "; ".join(repr(t) for t in texts[:_SHOWN_EXAMPLES])
                lines.append(f"  {true} -> {taken} ({len(texts)}): {shown}")
        return "\n".join(lines)


def _strata(
    examples: Sequence[Example], least: int
) -> tuple[dict[str, list[Example]], list[Example]]:
    """``({language: examples to split}, examples kept in training)``: a language-and-intent
    pair with fewer than ``least`` examples is too small to split."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for e in examples:
        counts[(e.language, e.intent)] += 1
    per_language: dict[str, list[Example]] = defaultdict(list)
    alone = []
    for e in examples:
        if counts[(e.language, e.intent)] >= least:
            per_language[e.language].append(e)
        else:
            alone.append(e)
    return dict(per_language), alone


def near_duplicates(examples: Sequence[Example]) -> list[int]:
    """A group number per example: examples whose folded texts are near-duplicates (at least
    :data:`NEAR` similar), directly or through others, share one."""
    folded = [fold(e.text) for e in examples]
    similar = process.cdist(folded, folded, scorer=fuzz.ratio, score_cutoff=NEAR, dtype=np.uint8)
    _, groups = connected_components(csr_matrix(similar), directed=False)
    return [int(g) for g in groups]


def _folds(
    examples: Sequence[Example], folds: int, seed: int
) -> list[tuple[list[Example], list[Example]]]:
    """Stratified by intent, near-duplicates in one fold: ``(training, held-out)`` per fold."""
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    return [
        ([examples[i] for i in train], [examples[i] for i in test])
        for train, test in splitter.split(
            examples, [e.intent for e in examples], near_duplicates(examples)
        )
    ]


def split(
    examples: Sequence[Example], *, seed: int = SEED, test_fraction: float = TEST_FRACTION
) -> tuple[list[Example], list[Example]]:
    """``(training, held-out)``: the de-duplicated examples split with a fixed seed, each
    language on its own (a language's split does not move when another's examples change),
    stratified by intent (a pair with fewer examples than the folds the fraction makes stays in
    training), near-duplicates on one side. The held-out part is one fold of
    ``round(1 / test_fraction)``."""
    folds = max(2, round(1 / test_fraction))
    per_language, training = _strata(dedupe(examples), folds)
    held_out: list[Example] = []
    for language in sorted(per_language):
        kept, out = _folds(per_language[language], folds, seed)[0]
        training += kept
        held_out += out
    return training, held_out


def evaluate(
    examples: Sequence[Example] | None = None,
    *,
    seed: int = SEED,
    test_fraction: float = TEST_FRACTION,
    settings: Settings | None = None,
) -> Report:
    """Train on one part of ``examples`` (the shipped ones by default), read the other;
    ``settings`` are the model's (the shipped ones by default)."""
    training, held_out = split(
        load_examples() if examples is None else examples, seed=seed, test_fraction=test_fraction
    )
    return _run(training, held_out, seed, test_fraction, settings or Settings())


def _run(
    training: Sequence[Example],
    held_out: Sequence[Example],
    seed: int,
    test_fraction: float,
    settings: Settings,
) -> Report:
    began = time.perf_counter()
    model = train(training, settings)
    seconds = time.perf_counter() - began
    nlu = EmbeddedUnderstander(model=model)
    predicted = [nlu.read(e.text).intent or NO_INTENT for e in held_out]
    languages = {}
    for language in LANGUAGES:
        pairs = [(e, p) for e, p in zip(held_out, predicted, strict=True) if e.language == language]
        if pairs:
            languages[language] = _report(language, pairs)
    return Report(seed, test_fraction, len(training), len(held_out), seconds, languages, settings)


@dataclass
class CrossReport:
    """The reports of every fold of a (repeated) stratified k-fold."""

    seed: int
    folds: int
    repeats: int
    runs: list[Report]
    settings: Settings = field(default_factory=Settings)

    def f1s(self, language: str) -> list[float]:
        return [r.languages[language].macro_f1 for r in self.runs if language in r.languages]

    def mean(self, language: str) -> float:
        found = self.f1s(language)
        return sum(found) / len(found) if found else 0.0

    def minimum(self, language: str) -> float:
        return min(self.f1s(language), default=0.0)

    @property
    def languages(self) -> list[str]:
        return [language for language in LANGUAGES if self.f1s(language)]

    def intent_f1(self, language: str) -> dict[str, tuple[float, float]]:
        """``intent -> (mean F1, lowest F1)`` over the folds."""
        per: dict[str, list[float]] = defaultdict(list)
        for run in self.runs:
            if language in run.languages:
                for score in run.languages[language].scores:
                    per[score.intent].append(score.f1)
        return {intent: (sum(f) / len(f), min(f)) for intent, f in per.items()}

    def confusions(self, language: str) -> dict[tuple[str, str], list[str]]:
        summed: dict[tuple[str, str], list[str]] = defaultdict(list)
        for run in self.runs:
            if language in run.languages:
                for pair, texts in run.languages[language].confusions.items():
                    summed[pair] += texts
        return dict(summed)

    def render(self, *, detail: bool = True) -> str:
        seconds = sum(r.training_seconds for r in self.runs) / len(self.runs)
        lines = [
            f"{self.folds}-fold cross-validation x {self.repeats} (seed {self.seed}, stratified "
            f"by language and intent): {len(self.runs)} trainings of about "
            f"{self.runs[0].trained_on} examples, {seconds:.2f} s each, "
            f"{self.runs[0].held_out} held out each" + _settings_line(self.settings),
            "",
            f"{'language':<8} {'mean':>6} {'min':>6} {'max':>6}   macro-F1 per fold",
        ]
        for language in self.languages:
            f1s = self.f1s(language)
            lines.append(
                f"{language:<8} {self.mean(language):>6.3f} {self.minimum(language):>6.3f} "
                f"{max(f1s):>6.3f}   " + " ".join(f"{f:.3f}" for f in f1s)
            )
        if not detail:
            return "\n".join(lines)
        for language in self.languages:
            lines += ["", f"== {language}: F1 per intent over the folds, weakest first"]
            lines.append(f"{'intent':<18} {'mean':>6} {'min':>6}")
            ranked = sorted(self.intent_f1(language).items(), key=lambda kv: kv[1])
            lines += [f"{intent:<18} {mean:>6.3f} {low:>6.3f}" for intent, (mean, low) in ranked]
            summed = sorted(self.confusions(language).items(), key=lambda kv: (-len(kv[1]), kv[0]))
            if summed:
                lines.append(f"most frequent confusions (true -> taken for), of {len(summed)}:")
            for (true, taken), texts in summed[:_SHOWN_CONFUSIONS]:
                lines.append(f"  {true} -> {taken} ({len(texts)})")
        return "\n".join(lines)


def cross_validate(
    examples: Sequence[Example] | None = None,
    *,
    folds: int = 4,
    repeats: int = 1,
    seed: int = SEED,
    settings: Settings | None = None,
) -> CrossReport:
    """Stratified k-fold over the de-duplicated ``examples`` (the shipped ones by default),
    each language on its own, near-duplicates in one fold, ``repeats`` times with a fresh
    shuffle: every example is held out once per repeat. A language-and-intent pair with fewer
    examples than ``folds`` stays in every training part. ``settings`` are the model's (the
    shipped ones by default)."""
    settings = settings or Settings()
    if folds < 2 or repeats < 1:
        raise ValueError("at least 2 folds and 1 repeat")
    per_language, always = _strata(dedupe(load_examples() if examples is None else examples), folds)
    # a fresh shuffle per repeat, drawn from the seed
    shuffles = np.random.RandomState(seed).randint(2**31 - 1, size=repeats)
    # fold i of the whole is fold i of each language, split on its own as in split()
    parts = [
        [part for shuffle in shuffles for part in _folds(rest, folds, int(shuffle))]
        for _, rest in sorted(per_language.items())
    ]
    runs = []
    for parted in zip(*parts, strict=True):
        training = [e for train, _ in parted for e in train] + always
        held_out = [e for _, test in parted for e in test]
        runs.append(_run(training, held_out, seed, 1 / folds, settings))
    return CrossReport(seed, folds, repeats, runs, settings)


def _settings_line(settings: Settings) -> str:
    described = settings.describe()
    return f"\nmodel settings: {described}" if described else ""


def _report(language: str, pairs: Sequence[tuple[Example, str]]) -> LanguageReport:
    truth = [e.intent for e, _ in pairs]
    taken = [p for _, p in pairs]
    labels = sorted(set(truth))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, taken, labels=labels, zero_division=0
    )
    scores = [
        IntentScore(label, float(p), float(r), float(f), int(n))
        for label, p, r, f, n in zip(labels, precision, recall, f1, support, strict=True)
    ]
    confusions: dict[tuple[str, str], list[str]] = defaultdict(list)
    for example, guess in pairs:
        if guess != example.intent:
            confusions[(example.intent, guess)].append(example.text)
    accuracy = sum(t == p for t, p in zip(truth, taken, strict=True)) / len(truth)
    return LanguageReport(language, scores, accuracy, dict(confusions))
