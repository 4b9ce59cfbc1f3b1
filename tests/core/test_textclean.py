"""The plain-text cleaner on the seeds: chrome out, every paragraph kept."""

import pytest

from tests.conftest import SEEDS
from transforms.core.manifest import parse_manifest
from transforms.core.textclean import clean_text, is_caption, is_credit_line

MANIFEST = parse_manifest((SEEDS / "manifest.csv").read_text(encoding="utf-8"))

# Chrome each seed carries, as it appears in the saved text.
CHROME = {
    "000_bbe93062319f189f.txt": [
        "صور للمسيرات الاحتفالية في أذربيجان وصور من كاراباخ",
        "القوات الأذرية تتقدم بشكل كبير في إقليم قره باغ (الأناضول)",
        "احتفالات في أذربيجان مع تقدم الجيش الأذري",
        "المصدر : الجزيرة + وكالات",
    ],
    "001_8b81df99018cc380.txt": ["مشاركة الصفحة", "آخر الأخبار", "اعلان جانبي", "اختيار المحرر", "(الجزيرة + وكالات)"],
    "002_1006001a38c85b0d.txt": ["عربيات ودوليات", "مقالات ذات صلة", "زر الذهاب إلى الأعلى"],
    "003_c54f41809b093bc8.txt": ["سياسة دولية", "- جيتي", "اقرأ أيضا", "روسيا ترفض مساعدة أرمينيا"],
    "004_9fef331906d48881.txt": ["رابطة علماء أهل السنة"],
}

# (title start, first and last body paragraph starts, paragraph count); the
# count is the seed's non-empty lines less its chrome lines and the title.
EXPECTED = {
    "000_bbe93062319f189f.txt": ("إقليم قره باغ.. شوشه", "أعلن الرئيس الأذربيجاني", "وتصاعدت حدة القتال", 20),
    "001_8b81df99018cc380.txt": (
        "أذربيجان تسيطر على 60 موقعا",
        "أعلنت وزارة الدفاع في أذربيجان",
        "واعتبرت وزيرة الخارجية",
        33,
    ),
    "002_1006001a38c85b0d.txt": ("مباحثات بين أذربيجان وتركيا", "أجرى الرئيس الأذربيجاني", "يأتي ذلك بعد أن تجدّدت", 27),
    "003_c54f41809b093bc8.txt": ("أذربيجان تواصل عملياتها", "واصل الجيش الأذربيجاني", "وبموجب القانون الدولي", 18),
    "004_9fef331906d48881.txt": ("قره باغ.. أذربيجان تسقط", "أعلنت وزارة الدفاع بأذربيجان", "وأشار دبلوماسيون", 20),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_seed_chrome_is_removed_and_paragraphs_kept(name):
    raw = (SEEDS / name).read_text(encoding="utf-8")
    cleaned = clean_text(raw, MANIFEST[name].outlet)
    title, first, last, n_paragraphs = EXPECTED[name]
    assert cleaned.title.startswith(title)
    assert cleaned.paragraphs[0].startswith(first)
    assert cleaned.paragraphs[-1].startswith(last)
    assert len(cleaned.paragraphs) == n_paragraphs
    for chrome in CHROME[name]:
        assert chrome not in cleaned.text, chrome
        assert chrome not in cleaned.title


def test_subheadings_inside_the_article_are_kept():
    cleaned = clean_text((SEEDS / "000_bbe93062319f189f.txt").read_text(encoding="utf-8"), "Al Jazeera")
    assert "دعم تركي" in cleaned.paragraphs
    assert "تواصل التوتر" in cleaned.paragraphs


@pytest.mark.parametrize(
    "line,expected",
    [
        ("القوات الأذرية تتقدم بشكل كبير في إقليم قره باغ (الأناضول)", True),
        ("الاشتباكات مستمرة بين أرمينيا وأذربيجان بسبب قره باغ- جيتي", True),
        ("(الجزيرة + وكالات)", True),
        ("Rescuers search the rubble in Kharkiv (Reuters/Getty Images)", True),
        # Sentences that end with a credit are article text, not captions.
        ("وقال المتحدث إن القوات تقدمت (رويترز).", False),
        ("قال الوزير إن القوات تقدمت في إقليم قره باغ (وفق البيان)", False),
    ],
)
def test_caption_detection(line, expected):
    assert is_caption(line) is expected


def test_english_chrome_and_read_more_lines():
    raw = "World\nShelling resumes near the front line\nShare this article\n" + (
        "Heavy shelling resumed on Tuesday along the front line, officials said.\n"
        "Read more: Ceasefire talks stall in Geneva\n"
        "The ministry said two soldiers were wounded overnight.\nRelated articles\nBack to top\n"
    )
    cleaned = clean_text(raw)
    assert cleaned.title == "Shelling resumes near the front line"
    assert cleaned.paragraphs == [
        "Heavy shelling resumed on Tuesday along the front line, officials said.",
        "The ministry said two soldiers were wounded overnight.",
    ]


@pytest.mark.parametrize(
    "first",
    [
        "Updated August 02, 2014.",  # newspaper4k's saved texts begin with a dateline or a sentence
        "Oh, RiRi. You truly are an icon.",
        "أعلنت وزارة الدفاع الأذربيجانية، اليوم الأحد، السيطرة على قرى جديدة.",
    ],
)
def test_a_first_line_that_ends_as_a_sentence_is_body_not_headline(first):
    raw = f"{first}\nThe ministry said two soldiers were wounded overnight, officials said on Monday.\n"
    cleaned = clean_text(raw)
    assert cleaned.title is None and cleaned.paragraphs[0] == first


@pytest.mark.parametrize(
    "title", ["قره باغ.. أذربيجان تسقط مسيّرتيْن أرمينيتين", "Is the ceasefire holding?", "Talks go on…"]
)
def test_a_headline_may_end_in_a_question_mark_or_an_ellipsis(title):
    cleaned = clean_text(f"{title}\nThe ministry said two soldiers were wounded overnight, officials said on Monday.\n")
    assert cleaned.title == title


@pytest.mark.parametrize(
    "line,expected",
    [
        ("فرانس24/ أ ف ب", True),
        ("(الجزيرة + وكالات)", True),
        ("المصدر : الجزيرة + وكالات", True),
        ("سكاي نيوز عربية - رويترز", True),
        ("(AFP)", True),
        ("Source: Reuters", True),
        # A caption says what the photo shows; a sentence or a link is no credit.
        ("القوات الأذرية تتقدم بشكل كبير في إقليم قره باغ (الأناضول)", False),
        ("دخان يتصاعد فوق المدينة المحاصرة - رويترز", False),
        ("وقال المتحدث إن القوات تقدمت (رويترز).", False),
        ("اقرأ أيضا: روسيا ترفض مساعدة أرمينيا", False),
        ("تابعونا", False),
    ],
)
def test_credit_line_detection(line, expected):
    assert is_credit_line(line) is expected


def test_credit_lines_at_the_end_are_returned_apart_and_captions_are_not():
    seed = clean_text((SEEDS / "000_bbe93062319f189f.txt").read_text(encoding="utf-8"), "Al Jazeera")
    assert seed.credits == ("المصدر : الجزيرة + وكالات",) and "وكالات" not in seed.text
    raw = (
        "Shelling resumes near the front line\n"
        "Smoke over the city (Reuters)\n"
        "(Reuters)\n"
        "Heavy shelling resumed on Tuesday along the front line, officials said.\n"
        "The ministry said two soldiers were wounded overnight.\n"
        "(AFP)\n"
    )
    cleaned = clean_text(raw)
    assert cleaned.credits == ("(AFP)",)
    assert cleaned.paragraphs == [
        "Heavy shelling resumed on Tuesday along the front line, officials said.",
        "The ministry said two soldiers were wounded overnight.",
    ]


def test_a_headline_repeated_above_the_article_is_the_title_once():
    headline = "الفجيرة الإماراتي يتعاقد مع محمد بن يطو"
    body = "أعلن الفجيرة الصاعد حديثا لدوري المحترفين تعاقده مع المهاجم الجزائري محمد بن يطو يوم الاثنين."
    cleaned = clean_text(f"{headline}\n\n{headline}\n{body}\n")
    assert cleaned.title == headline and cleaned.paragraphs == [body]
    # A short line repeated further down is still a widget title, not text.
    widget = clean_text(f"{headline}\nالأكثر تداولا اليوم\n{body}\nالأكثر تداولا اليوم\n{body} وقال المدرب إنه سعيد.\n")
    assert "الأكثر تداولا اليوم" not in widget.text and widget.title == headline
