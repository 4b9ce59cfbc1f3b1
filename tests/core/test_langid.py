"""Language detection: deterministic, bounded, declared language as fallback."""

import json

import pytest
from langdetect.detector import Detector
from langdetect.lang_detect_exception import LangDetectException

from tests.conftest import DATA, SEEDS
from transforms.core.langid import LanguageDetector, _Detector, normalize_lang_tag

SEED = (SEEDS / "001_8b81df99018cc380.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def detector():
    return LanguageDetector(seed=0, prefix_chars=2000, min_prob=0.8)


def test_arabic_seed_is_arabic_with_high_probability(detector):
    result = detector.detect(SEED)
    assert result.lang == "ar" and result.prob > 0.99 and result.source == "detected"


def test_same_text_same_answer_across_detectors():
    # Ambiguous short text is where langdetect's sampling shows: two separately
    # built detectors with the same seed must still agree, every time.
    text = "Ok, taxi, hotel, pizza, internet, radio."
    a, b = LanguageDetector(seed=0), LanguageDetector(seed=0)
    assert {a.detect(text) for _ in range(5)} == {b.detect(text)}


def test_only_a_prefix_is_read():
    detector = LanguageDetector(prefix_chars=300)
    # Arabic first, then a long English tail that would win on the whole text.
    text = SEED[:400] + " " + "The quick brown fox jumps over the lazy dog. " * 400
    assert detector.detect(text).lang == "ar"


def test_declared_language_wins_when_detection_is_unsure(detector):
    # langdetect gives this 0.71 it / 0.29 lv: under the 0.8 bar.
    result = detector.detect("pizza pasta", declared="fr-FR")
    assert result.lang == "fr" and result.source == "declared"


def test_confident_detection_beats_a_wrong_declaration(detector):
    assert detector.detect(SEED, declared="en").lang == "ar"


def test_nothing_to_detect(detector):
    result = detector.detect("12345 !!! 678")
    assert result.lang is None and result.source == "none"


@pytest.mark.parametrize("tag,expected", [("ar-SA", "ar"), ("en_US", "en"), ("AR", "ar"), ("", None), ("x", None)])
def test_normalize_lang_tag(tag, expected):
    assert normalize_lang_tag(tag) == expected


EDGE_CASES = [
    "NATO and the UN met the OSCE in GENEVA on Monday; the EU said little.",  # capital words are skipped
    "Thủ tướng Việt Nam phát biểu tại hội nghị thượng đỉnh ở Hà Nội hôm thứ Hai.",  # Vietnamese diacritics
    "日本の首相は月曜日、東京で記者会見を開いた。カタカナとひらがな。",
    "中华人民共和国外交部发言人在北京举行例行记者会。",
    "대한민국 정부는 월요일 서울에서 기자회견을 열었다.",
    "ایران و آذربایجان درباره قره‌باغ گفتگو کردند؛ یک ی فارسی",  # Farsi yeh is normalized to Arabic yeh
    "Президент России заявил в понедельник, что переговоры продолжатся.",
    "Ştiri din România: guvernul şi parlamentul țării s-au întâlnit; ș ț",  # Romanian comma/cedilla
    "see https://example.com/a?b=c and mail press@example.org — “quoted” text…",
    "Der Bundestag hat am Montag über den Haushalt beraten und abgestimmt.",
    # Mostly Latin Extended Additional: langdetect counts these as non-Latin and drops the Latin.
    "ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ ab cd",
    "a",
    "Ok",
    "12345",
    "   ",
    "ABC DEF GHI",
]


def _texts() -> list[str]:
    texts = [path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt"))]
    with (DATA / "topics" / "ant_candidates.jsonl").open(encoding="utf-8") as fh:
        texts += [json.loads(line)["text"] for line in fh]
    with (DATA / "dedup" / "sources.jsonl").open(encoding="utf-8") as fh:
        texts += [" ".join(json.loads(line)["paragraphs"]) for line in fh]
    return texts + EDGE_CASES


def _probabilities(detector) -> list[tuple[str, float]] | None:
    try:
        return [(p.lang, p.prob) for p in detector.get_probabilities()]
    except LangDetectException:
        return None


@pytest.mark.parametrize("prefix", [200, 1000])
def test_the_fast_detector_gives_stock_langdetect_probabilities_to_the_last_bit(prefix):
    ours = LanguageDetector(seed=0, prefix_chars=prefix)
    texts = _texts()
    compared = 0
    for text in texts:
        stock, fast = Detector(ours._factory), _Detector(ours._factory, ours._tables)
        stock.append(text[:prefix])
        fast.append(text[:prefix])
        assert _probabilities(fast) == _probabilities(stock), text[:80]
        # Every language's probability, not only those over 0.1 that get_probabilities keeps.
        assert fast.langprob == stock.langprob, text[:80]
        compared += 1
    assert compared == len(texts) > 150
    assert ours._tables.rows and ours._tables.chars  # the lookups were used
    assert ours._tables.word_grams.cache_info().hits > 1000  # and so were remembered words
