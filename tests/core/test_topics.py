"""Topic tagging without Beam: the taxonomy, clitic-aware matching,
normalization variants, negatives and scoring."""

from __future__ import annotations

import pytest

from transforms.core.normalize import normalize_for_hashing
from transforms.core.taxonomy import EVERY_CONFLICT, TaxonomyError, load_taxonomy, parse_taxonomy
from transforms.core.topics import ScoringParams, TopicTagger, default_tagger, tag

REQUIRED_IDS = {
    "nagorno-karabakh", "russia-ukraine", "israel-palestine", "israel-lebanon", "iran-israel", "syria",
    "yemen", "libya", "sudan", "south-sudan", "dr-congo", "ethiopia", "somalia", "myanmar", "mali",
    "burkina-faso", "nigeria-jihadist", "iraq", "afghanistan-pakistan", "turkey-pkk",
}  # fmt: skip
TAXONOMY = load_taxonomy()
TAGGER = default_tagger()
# The clitics the issue lists, and how Arabic spells them before the article.
CLITICS = ("و", "ف", "ب", "ل", "ك", "وب", "فب", "ول", "فل", "وك", "فك")
ARTICLE_CLITICS = ("ال", "وال", "بال", "فال", "كال", "لل")
FILLER_BEFORE = "قال مراسلنا إن"
FILLER_AFTER = "شهدت تطورات جديدة اليوم"


def attach(prefix: str, word: str) -> str:
    """Arabic orthography, stated independently of the tagger: ل before the
    article fuses with it (ل + القوات = للقوات)."""
    if word.startswith("ال") and prefix.endswith("ل"):
        return prefix + word[1:]
    return prefix + word


def _bare(alias: str) -> str:
    return alias.removeprefix("(ال)")


def _matched(result, conflict: str, alias: str) -> bool:
    """Did an alias of ``conflict`` that normalizes like ``alias`` match?
    Joined and spaced spellings (قرهباغ, قره باغ) are one alias."""

    def key(text: str) -> str:
        return normalize_for_hashing(_bare(text)).replace(" ", "")

    return any(e.topic == conflict and key(e.alias) == key(alias) for e in result.evidence)


def _core(lang: str):
    return [a for a in TAXONOMY.aliases if a.tier == "core" and a.lang == lang]


def test_taxonomy_has_every_required_conflict_with_complete_arabic_and_english():
    assert REQUIRED_IDS <= set(TAXONOMY.ids)
    assert set(TAXONOMY.complete_languages) == {"ar", "en"}
    for conflict in TAXONOMY.conflicts:
        assert conflict.names.get("ar") and conflict.names.get("en"), conflict.id
        assert conflict.episodes and all(e.get("start") for e in conflict.episodes), conflict.id
        assert all({"id", "name", "checked"} <= set(u) for u in conflict.ucdp), conflict.id
        for lang in ("ar", "en"):
            for tier in ("core", "context"):
                assert any(a.conflict == conflict.id and a.lang == lang and a.tier == tier for a in TAXONOMY.aliases), (
                    conflict.id,
                    lang,
                    tier,
                )


@pytest.mark.parametrize("conflict", sorted(REQUIRED_IDS))
def test_every_arabic_core_alias_matches_bare_and_behind_each_clitic(conflict):
    for alias in (a for a in _core("ar") if a.conflict == conflict):
        word = _bare(alias.text)
        prefixes = ("", *CLITICS)
        if alias.text.startswith("(ال)"):
            prefixes += ARTICLE_CLITICS
        for prefix in prefixes:
            text = f"{FILLER_BEFORE} {attach(prefix, word)} {FILLER_AFTER}"
            result = TAGGER.tag(None, text, "ar")
            assert _matched(result, conflict, alias.text), (alias.text, prefix, text)


@pytest.mark.parametrize("conflict", sorted(REQUIRED_IDS))
def test_every_english_core_alias_matches_whatever_the_punctuation(conflict):
    for alias in (a for a in _core("en") if a.conflict == conflict):
        for text in (f"Reports on {alias.text} today.", f"({alias.text.upper()}), said", f"{alias.text}'s people"):
            result = TAGGER.tag(None, text, "en")
            assert _matched(result, conflict, alias.text), (alias.text, text)


def test_clitics_attach_to_whole_words_only():
    core = "قره باغ"
    hit = TAGGER.tag(None, f"{core} والقوات الأوكرانية وبشوشي", "ar")
    assert _matched(hit, "russia-ukraine", "(ال)قوات الأوكرانية")
    assert _matched(hit, "nagorno-karabakh", "شوشي")
    inside = TAGGER.tag(None, f"{core} بشوشين والشوشيات وشوشيه", "ar")
    assert not _matched(inside, "nagorno-karabakh", "شوشي")


def test_proper_nouns_do_not_take_the_article():
    # جنين (Jenin) is not الجنين (the fetus); غزة keeps israel-palestine scored.
    fetus = TAGGER.tag(None, "قصف غزة. نمو الجنين في الرحم وصحة الجنين", "ar")
    assert not _matched(fetus, "israel-palestine", "جنين")
    city = TAGGER.tag(None, "قصف غزة ومداهمات في جنين", "ar")
    assert _matched(city, "israel-palestine", "جنين")


@pytest.mark.parametrize(
    "variant",
    [
        "قره باغ", "قرة باغ", "قرهباغ", "قَرَه بَاغ", "قـره بـاغ", "كاراباخ", "ناغورنو-قره باغ",
        "ستيباناكيرت", "ستيبانكيرت", "ستيباناكرت", "خانكندي", "آرتساخ", "أرتساخ",
    ],
)  # fmt: skip
def test_spelling_variants_of_karabakh_all_match(variant):
    result = TAGGER.tag(None, f"{FILLER_BEFORE} {variant} {FILLER_AFTER}", "ar")
    assert "nagorno-karabakh" in dict(result.scores), variant


@pytest.mark.parametrize(
    "variant,canonical",
    [("اذربيجان", "أذربيجان"), ("آذربيجان", "أذربيجان"), ("شوشه", "شوشه"), ("شوشة", "شوشه"), ("شوشا", "شوشا"),
     ("شوشي", "شوشي"), ("الأذري", "(ال)أذري"), ("الاذرية", "(ال)أذرية")],
)  # fmt: skip
def test_normalization_variants_of_context_aliases_match(variant, canonical):
    result = TAGGER.tag(None, f"قره باغ {variant}", "ar")
    assert _matched(result, "nagorno-karabakh", canonical), variant


def _negatives():
    for alias in TAXONOMY.aliases:
        if alias.tier == "negative" and alias.conflict != EVERY_CONFLICT:
            yield alias


def _core_word(conflict: str, lang: str) -> str:
    return _bare(
        next(a.text for a in TAXONOMY.aliases if a.conflict == conflict and a.lang == lang and a.tier == "core")
    )


def test_each_negative_lowers_its_conflict_and_never_triggers_it():
    checked = 0
    for neg in _negatives():
        filler = "reported on" if neg.lang == "en" else "ذكرت التقارير"
        alone = TAGGER.tag(neg.text, f"{filler} {neg.text}. {neg.text}", neg.lang)
        assert neg.conflict not in alone.topics, neg
        core = _core_word(neg.conflict, neg.lang)
        base = f"{filler} {core}."
        without = dict(TAGGER.tag(None, base, neg.lang).scores).get(neg.conflict, 0.0)
        with_neg = dict(TAGGER.tag(None, f"{base} {neg.text}", neg.lang).scores).get(neg.conflict, 0.0)
        assert with_neg < without, (neg, without, with_neg)
        checked += 1
    assert checked >= 50


@pytest.mark.parametrize(
    "title,text,lang,conflict",
    [
        (
            "Qarabag FK win in Baku",
            "Qarabag FK beat Chelsea in the Champions League. Qarabag fans celebrated.",
            "en",
            "nagorno-karabakh",
        ),
        (
            "قره باغ الأذربيجاني يفوز",
            "فاز فريق قره باغ على ضيفه في دوري أبطال أوروبا في باكو",
            "ar",
            "nagorno-karabakh",
        ),
        (
            "Baku hosts COP29",
            "Aliyev opened the COP29 climate conference in Baku, Azerbaijan.",
            "en",
            "nagorno-karabakh",
        ),
        (
            "Attack in Qarabagh district",
            "Taliban attacked Qarabagh district in Ghazni, killing five.",
            "en",
            "nagorno-karabakh",
        ),
        ("هجوم في مديرية قره باغ", "هاجم مسلحو طالبان مديرية قره باغ في ولاية غزني", "ar", "nagorno-karabakh"),
        ("اشتباكات في طرابلس اللبنانية", "اشتباكات بين باب التبانة وجبل محسن في طرابلس شمال لبنان", "ar", "libya"),
        (
            "Clashes in Tripoli, Lebanon",
            "Gunmen in Tripoli in northern Lebanon clashed; Bab al-Tabbaneh burned.",
            "en",
            "libya",
        ),
        ("احتجاجات في عمان", "تظاهر المئات في العاصمة الأردنية عمان قرب الحدود مع اليمن", "ar", "yemen"),
    ],
)
def test_listed_hard_negatives_do_not_trigger_their_conflict(title, text, lang, conflict):
    assert conflict not in tag(title, text, lang).topics


def test_context_and_shared_aliases_never_tag_alone():
    only_context = TAGGER.tag("باكو ويريفان", "علييف وباشينيان في باكو ويريفان، أذربيجان وأرمينيا وشوشا", "ar")
    assert only_context.topics == () and "nagorno-karabakh" in only_context.gated
    with_core = TAGGER.tag("باكو ويريفان", "علييف وباشينيان في باكو ويريفان حول قره باغ وشوشا", "ar")
    assert with_core.primary == "nagorno-karabakh"
    assert any(e.tier == "context" for e in with_core.evidence)


def test_title_and_lead_weigh_more_than_the_tail():
    padding = " ".join(["كلام عام لا علاقة له بالموضوع"] * 40)
    in_title = dict(TAGGER.tag("قره باغ", padding, "ar").scores)["nagorno-karabakh"]
    in_lead = dict(TAGGER.tag(None, f"قره باغ {padding}", "ar").scores)["nagorno-karabakh"]
    in_tail = dict(TAGGER.tag(None, f"{padding} قره باغ", "ar").scores)["nagorno-karabakh"]
    assert in_title > in_lead > in_tail > 0


def test_distinct_aliases_count_more_than_one_repeated():
    repeated = dict(TAGGER.tag(None, "x " * 200 + "Stepanakert Stepanakert Stepanakert", "en").scores)
    distinct = dict(TAGGER.tag(None, "x " * 200 + "Stepanakert Lachin corridor Hadrut", "en").scores)
    assert distinct["nagorno-karabakh"] > repeated["nagorno-karabakh"]


def test_passing_mentions_are_scored_but_not_topics():
    main = " ".join(["Ukrainian forces held Bakhmut and Avdiivka in Donetsk as Zelensky spoke."] * 3)
    text = f"{main} Aid was also sent to the Gaza Strip and Rafah."
    # A floor low enough that only the share to the strongest topic decides.
    result = TopicTagger(TAXONOMY, ScoringParams(min_score=1.0)).tag("War in Ukraine", text, "en")
    assert result.topics == ("russia-ukraine",)
    assert "israel-palestine" in dict(result.scores)
    no_share = TopicTagger(TAXONOMY, ScoringParams(min_score=1.0, min_share=0.0)).tag("War in Ukraine", text, "en")
    assert no_share.topics == ("russia-ukraine", "israel-palestine")


def test_topics_are_ordered_strongest_first_and_primary_is_the_first():
    text = "Hezbollah fired at Kiryat Shmona from south Lebanon. " * 2 + "Gaza Strip, Rafah and Khan Younis: " * 4
    result = TAGGER.tag("Gaza and Lebanon", text, "en")
    assert result.topics[0] == result.primary == "israel-palestine"
    assert "israel-lebanon" in result.topics
    scores = [s for _, s in result.scores]
    assert scores == sorted(scores, reverse=True)


def test_article_language_picks_the_aliases():
    english_in_arabic = "Karabakh Stepanakert Karabakh Stepanakert Lachin corridor"
    assert TAGGER.tag(None, english_in_arabic, "ar").topics == ()
    assert TAGGER.tag(None, english_in_arabic, "en").primary == "nagorno-karabakh"
    # A language the taxonomy does not have complete is matched on all of them.
    assert TAGGER.tag(None, f"Die Lage in {english_in_arabic}", "de").primary == "nagorno-karabakh"


def test_off_topic_terms_subtract():
    war = "RSF fighters shelled El Fasher in Darfur."
    flood = f"{war} Floods and flash floods swept Kordofan; the floods killed many."
    assert dict(TAGGER.tag(None, flood, "en").scores)["sudan"] < dict(TAGGER.tag(None, war, "en").scores)["sudan"]


def test_thresholds_come_from_the_params():
    text = "Stepanakert and the Lachin corridor."
    default = TopicTagger(TAXONOMY).tag(None, text, "en")
    low = TopicTagger(TAXONOMY, ScoringParams(min_score=1.0)).tag(None, text, "en")
    assert default.topics == () and low.topics == ("nagorno-karabakh",)


def test_columns_are_what_the_schema_expects():
    cols = tag("Karabakh", "Stepanakert shelled; Karabakh fighting.", "en").columns("v1")
    assert cols["primary_topic"] == "nagorno-karabakh" and cols["topics"] == ["nagorno-karabakh"]
    assert cols["topic_scores"][0]["topic"] == "nagorno-karabakh" and cols["topic_scores"][0]["score"] > 0
    assert {"topic", "alias", "tier", "kind", "count"} == set(cols["topic_evidence"][0])
    assert cols["topic_taxonomy"] == "v1"


MINI = """
version: t1
languages: {complete: [en]}
weights: {core: 3, context: 1, shared: 0.5, negative: 3}
conflicts:
  - id: test-war
    names: {en: Test war}
    terms:
      places:
        core: {en: [Zembla]}
"""


def test_library_call_takes_another_taxonomy():
    assert tag("Zembla", "Zembla Zembla Zembla", "en", taxonomy=MINI).primary == "test-war"


@pytest.mark.parametrize(
    "broken,message",
    [
        ("version: [", "YAML"),
        (MINI.replace("version: t1", ""), "version"),
        (MINI.replace("core: {en: [Zembla]}", "main: {en: [Zembla]}"), "tier"),
        (MINI.replace("core: {en: [Zembla]}", "context: {en: [Zembla]}"), "no core alias"),
        (MINI + MINI[MINI.index("  - id") :], "twice"),
        (MINI.replace("places:", "cities:"), "kind"),
    ],
)
def test_malformed_taxonomies_are_refused_with_the_reason(broken, message):
    with pytest.raises(TaxonomyError, match=message):
        parse_taxonomy(broken)


def test_two_word_arabic_names_also_match_joined():
    # Only the spaced forms are in the taxonomy.
    joined = TAGGER.tag(None, f"{FILLER_BEFORE} ممرلاتشين وبمجموعةمينسك {FILLER_AFTER}", "ar")
    assert _matched(joined, "nagorno-karabakh", "ممر لاتشين")
    assert _matched(joined, "nagorno-karabakh", "مجموعة مينسك")
