"""Topic tagging without Beam: the taxonomy, clitic-aware matching,
normalization variants, negatives and scoring."""

from __future__ import annotations

import pytest
import yaml

from transforms.core.agencies import packaged_agencies_text
from transforms.core.normalize import normalize_for_hashing
from transforms.core.taxonomy import (
    EVERY_CONFLICT,
    SAFE_LOADER,
    TaxonomyError,
    load_taxonomy,
    parse_taxonomy,
    read_taxonomy_text,
)
from transforms.core.topics import ScoringParams, TopicTagger, default_tagger, tag

REQUIRED_IDS = {
    "nagorno-karabakh", "russia-ukraine", "israel-palestine", "israel-lebanon", "iran-israel", "syria",
    "yemen", "libya", "sudan", "south-sudan", "dr-congo", "ethiopia", "somalia", "myanmar", "mali",
    "burkina-faso", "nigeria-jihadist", "iraq", "afghanistan-pakistan", "turkey-pkk",
}  # fmt: skip
TAXONOMY = load_taxonomy()
TAGGER = default_tagger()
# The clitics Arabic news attaches to names, and how it spells them before the article.
CLITICS = ("و", "ف", "ب", "ل", "ك", "وب", "فب", "ول", "فل", "وك", "فك")
ARTICLE_CLITICS = ("ال", "وال", "بال", "فال", "كال", "لل")
FILLER_BEFORE = "قال مراسلنا إن"
FILLER_AFTER = "شهدت تطورات جديدة اليوم"


def attach(prefix: str, word: str) -> str:
    """Arabic orthography, stated independently of the tagger: ل before the
    article fuses with it (ل + القوات = للقوات)."""
    if word.startswith("ال") and prefix.endswith("ل"):
        return prefix + word[1:]
    if prefix.endswith("لل") and word.startswith("ل"):
        # ... and before a word that itself begins with ل, the article's lam goes too: ل + الليطاني = لليطاني.
        return prefix[:-1] + word
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


def test_lam_before_an_article_and_a_lam_fuses_into_two():
    # ل + اللاذقية is written للاذقية: the article's alef and lam both go.
    to_latakia = TAGGER.tag(None, "وصلت تعزيزات للاذقية بعد قصف عنيف", "ar")
    assert _matched(to_latakia, "syria", "اللاذقية")
    assert not _matched(TAGGER.tag(None, "وصلت تعزيزات لللاذقية بعد قصف عنيف", "ar"), "syria", "اللاذقية")


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
    assert only_context.topics == ()
    assert dict(only_context.decisions)["nagorno-karabakh"].startswith("mentioned in passing")
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
    repeated = dict(TAGGER.tag(None, "x " * 200 + "Shelling of Stepanakert Stepanakert Stepanakert", "en").scores)
    distinct = dict(TAGGER.tag(None, "x " * 200 + "Shelling of Stepanakert Lachin corridor Hadrut", "en").scores)
    assert distinct["nagorno-karabakh"] > repeated["nagorno-karabakh"]


def test_a_weak_second_conflict_is_scored_but_not_a_topic():
    main = " ".join(["Ukrainian forces held Bakhmut and Avdiivka in Donetsk as Zelensky spoke."] * 3)
    text = f"{main} Hamas was also mentioned."
    # A floor low enough that only the share to the strongest topic decides.
    result = TopicTagger(TAXONOMY, ScoringParams(min_score=1.0)).tag("War in Ukraine", text, "en")
    assert result.topics == ("russia-ukraine",)
    assert "israel-palestine" in dict(result.scores)
    assert _why(result, "israel-palestine").endswith("but below a share of the strongest topic's score: not a topic")
    assert _why(TAGGER.tag(None, "Haftar visited the port.", "en"), "libya") == (
        "opened (core actors), but below the minimum score: not a topic"
    )
    no_share = TopicTagger(TAXONOMY, ScoringParams(min_score=1.0, min_share=0.0)).tag("War in Ukraine", text, "en")
    assert no_share.topics == ("russia-ukraine", "israel-palestine")


def test_topics_are_ordered_strongest_first_and_primary_is_the_first():
    text = "Hezbollah fired rockets at Kiryat Shmona from south Lebanon; Israeli airstrikes followed. " * 2
    text += "Airstrikes on the Gaza Strip, Rafah and Khan Younis. " * 4
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
    text = "Stepanakert was shelled."
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
      names:
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
        (MINI.replace("names:\n", "cities:\n"), "kind"),
        (MINI.replace("conflicts:", "event_terms: {violence: {en: [clashes]}}\nconflicts:"), "weights lack"),
        (
            MINI.replace("conflicts:", "event_terms: {riots: {en: [clashes]}}\nconflicts:").replace(
                "negative: 3", "negative: 3, event: 1"
            ),
            "unknown kind",
        ),
        (MINI.replace("    terms:", "    sides: [[Zembla], [Ruritania]]\n    terms:"), "not aliases of the conflict"),
        (MINI.replace("    terms:", "    sides: [[Zembla]]\n    terms:"), "two lists"),
        (MINI.replace("    terms:", "    sides: [[Zembla, [Zembla]], [Zembla]]\n    terms:"), "two lists"),
        (MINI.replace("    terms:", "    sides: [[Zembla, 5], [Zembla]]\n    terms:"), "two lists"),
        (MINI.replace("    terms:", "    sides: []\n    terms:"), "two lists"),
        (MINI.replace("    terms:", "    sides: [[Zembla], [Zembla]]\n    terms:"), "on both sides"),
        (MINI.replace("conflicts:", "frames: [election]\nconflicts:"), "frames: a mapping"),
        (MINI.replace("conflicts:", "frames: {elections: [election]}\nconflicts:"), "frames: a mapping"),
        (MINI.replace("conflicts:", "frames: {elections: {en: election}}\nconflicts:"), "a list of aliases"),
        # A typo in a section name would silently drop the section.
        (MINI.replace("conflicts:", "event_term: {violence: {en: [clashes]}}\nconflicts:"), "unknown key 'event_term'"),
        (MINI.replace("    terms:", "    negative: {en: [Zembla FC]}\n    terms:"), "unknown key 'negative'"),
        # A key given twice: YAML would keep the second silently.
        (MINI.replace("names: {en: Test war}", "names: {en: Test war}\n    names: {en: Other}"), "given twice"),
        ("version: [\n", "YAML at line"),
        (MINI.replace("negative: 3}", "negative: -3}"), "weights.negative: a number of 0 or more"),
        (MINI.replace("negative: 3}", "negative: high}"), "weights.negative: a number of 0 or more"),
        (MINI.replace("negative: 3}", "negative: 3, bogus: 1}"), "unknown key 'bogus'"),
        (MINI.replace("negative: 3}", "negative: .nan}"), "weights.negative: a number of 0 or more"),
        (MINI.replace("version: t1", "version: 2026.10"), "version: a quoted string"),
        (MINI.replace("id: test-war", "id: none"), "not 'none'"),
        (
            MINI.replace("weights: {core: 3, context: 1, shared: 0.5, negative: 3}", "weights: [3, 1]"),
            "weights: a mapping",
        ),
        (MINI.replace("complete: [en]", "complete: en"), "a list of language codes"),
        (MINI.replace("core: {en: [Zembla]}", "core: {english: [Zembla]}"), "'english' is not a language code"),
        (
            MINI.replace("core: {en: [Zembla]}", "core: [Zembla]"),
            r"test-war.terms.names.core \(aliases per language code\): a mapping",
        ),
        (MINI.replace("names: {en: Test war}", "names: Test war"), "test-war.names: a mapping"),
        (MINI.replace("id: test-war", "id: 42"), "conflict id 42"),
        (MINI.replace("id: test-war", "id: haiti/gangs"), "lower-case letters, digits and dashes"),
        (MINI.replace("conflicts:\n", "conflicts:\n  - 5\n"), "a list of conflict records"),
        (MINI.replace("    terms:", "    episodes: [{name: War, start: 2016-13-45}]\n    terms:"), "month must be in"),
    ],
)
def test_malformed_taxonomies_are_refused_with_the_reason(broken, message):
    with pytest.raises(TaxonomyError, match=message) as refused:
        parse_taxonomy(broken)
    assert "\n" not in str(refused.value)  # one line, to print after the flag's name


def test_yaml_anchors_and_merge_keys_still_load():
    shared = MINI.replace(
        "conflicts:",
        "conflicts:\n  - &base {id: base-war, names: {en: Base war}, terms: {names: {core: {en: [Ruritania]}}}}",
    )
    merged = shared + "  - <<: *base\n    id: other-war\n"
    assert parse_taxonomy(merged).ids == ("base-war", "test-war", "other-war")


def test_a_taxonomy_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(MINI.replace("Zembla", "Zembl\u00e0").encode("latin-1"))
    with pytest.raises(TaxonomyError, match="not UTF-8"):
        load_taxonomy(str(path))


def test_two_word_arabic_names_also_match_joined():
    # Only the spaced forms are in the taxonomy.
    joined = TAGGER.tag(None, f"{FILLER_BEFORE} ممرلاتشين وبمجموعةمينسك {FILLER_AFTER}", "ar")
    assert _matched(joined, "nagorno-karabakh", "ممر لاتشين")
    assert _matched(joined, "nagorno-karabakh", "مجموعة مينسك")


# The event-aware gate.


def _why(result, conflict: str) -> str:
    return dict(result.decisions).get(conflict, "")


def test_clashes_in_the_libyan_capital_open_libya_on_its_place_and_country():
    title = "اشتباكات بين ميليشيات مسلحة في العاصمة الليبية طرابلس"
    text = (
        "اندلعت اشتباكات عنيفة بين ميليشيات مسلحة في العاصمة الليبية طرابلس صباح اليوم. "
        "ودعت بعثة الأمم المتحدة إلى وقف إطلاق النار فورا وحماية المدنيين."
    )
    result = TAGGER.tag(title, text, "ar")
    assert result.primary == "libya"
    assert _why(result, "libya") == "opened (two places, violence or ceasefire beside them)"
    tiers = {(e.alias, e.tier) for e in result.evidence if e.topic == "libya"}
    assert ("(ال)اشتباكات", "event") in tiers and ("وقف إطلاق النار", "event") in tiers
    # The same words with no violence: a country and its capital are not enough.
    calm = TAGGER.tag("معرض للكتاب في العاصمة الليبية طرابلس", "افتتح في العاصمة الليبية طرابلس معرض للكتاب.", "ar")
    assert "libya" not in calm.topics


def test_a_harvest_in_a_core_listed_district_does_not_open_its_conflict():
    title = "Pomegranate harvest begins in Kandahar"
    text = (
        "Farmers in Kandahar began picking pomegranates this week, and traders said the crop in Afghanistan "
        "was the best in years. Exporters hope to send the fruit to India and the Gulf."
    )
    harvest = TAGGER.tag(title, text, "en")
    assert harvest.topics == ()
    assert "afghanistan-pakistan" in dict(harvest.scores)  # findable as a passing mention
    assert _why(harvest, "afghanistan-pakistan").startswith("mentioned in passing")
    # The same district with fighting in the article is the conflict.
    fighting = TAGGER.tag("Heavy fighting in Kandahar", text + " Heavy fighting broke out near the city.", "en")
    assert fighting.primary == "afghanistan-pakistan"
    # The word that opened it shows in the evidence even far from the place.
    far = TAGGER.tag(
        title, text + "\nTraders praised the crop.\nTraders praised the crop.\nClashes broke out in the hills.", "en"
    )
    assert _why(far, "afghanistan-pakistan") == "opened (core place, an event term in the article)"
    assert ("afghanistan-pakistan", "clashes", "event") in {(e.topic, e.alias, e.tier) for e in far.evidence}


@pytest.mark.parametrize("word", ["واشتباكات", "باشتباكات", "لاشتباكات", "فاشتباكات", "وباشتباكات", "الاشتباكات",
                                  "والاشتباكات", "بالاشتباكات", "للاشتباكات", "وللقصف", "فالقصف"])  # fmt: skip
def test_event_terms_match_behind_arabic_clitics(word):
    title = "توتر في العاصمة الليبية طرابلس"
    text = f"قال شهود في العاصمة الليبية طرابلس إن المدينة شهدت أمس {word} في الأحياء الجنوبية."
    result = TAGGER.tag(title, text, "ar")
    assert result.primary == "libya", word
    assert any(e.topic == "libya" and e.tier == "event" and e.kind == "violence" for e in result.evidence), word
    # Without the event term the capital and the country are not enough.
    assert TAGGER.tag(title, text.replace(word, "اجتماعات"), "ar").topics == ()


def test_clashes_between_fans_beside_a_country_name_open_nothing():
    title = "اشتباكات بين المشجعين بعد مباراة ليبيا وتونس"
    text = (
        "شهدت المدرجات اشتباكات بين المشجعين الليبيين والتونسيين بعد نهاية المباراة، "
        "وتدخل الأمن لتفريقهم. وقال الاتحاد الليبي إنه سيحقق في الأحداث."
    )
    fans = TAGGER.tag(title, text, "ar")
    assert fans.topics == () and _why(fans, "libya").endswith("not opened")
    english = TAGGER.tag(
        "Clashes between fans after Libya match", "Clashes between Libyan fans broke out after the match.", "en"
    )
    assert english.topics == () and _why(english, "libya").startswith("mentioned in passing")


def test_victims_open_a_core_place_but_not_a_country_and_its_capital():
    # A fire kills too: "killed" beside the capital and the country is not a war.
    text = "Twenty-four people were killed in a fire at a rehabilitation centre in Baku, Azerbaijan's capital."
    result = TAGGER.tag("Fire kills 24 in Baku", text, "en")
    assert result.topics == () and _why(result, "nagorno-karabakh").startswith("mentioned in passing")
    shelled = TAGGER.tag(
        "Shelling kills 24 in Ganja", "Twenty-four people were killed by shelling in Ganja, Azerbaijan.", "en"
    )
    assert shelled.primary == "nagorno-karabakh"
    # A core place, a town at the heart of the war, opens on victims alone.
    gaza = TAGGER.tag("Palestinians killed in Khan Younis", "Two Palestinians were killed near Khan Younis.", "en")
    assert _why(gaza, "israel-palestine") == "opened (core place, an event term in the article)"
    calm = TAGGER.tag("Market reopens in Khan Younis", "The fish market reopened near Khan Younis.", "en")
    assert _why(calm, "israel-palestine").startswith("mentioned in passing")


def test_armed_groups_open_a_core_place_but_not_a_country_and_its_capital():
    # A profile of a country's parties names its militias; nobody is fighting.
    title = "نبذة عن الأحزاب الليبية"
    text = "يتنافس في ليبيا حزب العدالة والبناء وتحالف القوى الوطنية، وكانت ميليشيات الأحزاب قد ألقت السلاح في طرابلس."
    profile = TAGGER.tag(title, text, "ar")
    assert "libya" not in profile.topics
    assert _why(profile, "libya").startswith("mentioned in passing")
    # The same armed men in a town at the heart of a war open it ...
    idlib = TAGGER.tag("مسلحون في إدلب", "انتشر مسلحون في ريف إدلب الجنوبي صباح اليوم.", "ar")
    assert _why(idlib, "syria") == "opened (core place, an event term in the article)"
    # ... and so does fighting beside the country and its capital.
    fighting = TAGGER.tag(title, text.replace("ألقت السلاح", "اشتبكت"), "ar")
    assert _why(fighting, "libya").startswith("opened (two places, violence or ceasefire beside them)")


def test_an_election_title_frames_an_election_story():
    title = "العراق: انطلاق الحملة الانتخابية للانتخابات التشريعية"
    text = (
        "انطلقت في العراق الحملة الانتخابية، وهي الأولى منذ إعلان النصر على تنظيم الدولة الإسلامية. "
        "ورفعت في بغداد صور المرشحين إلى جانب صور قتلى المعارك ضد الجهاديين."
    )
    campaign = TAGGER.tag(title, text, "ar")
    assert campaign.topics == () and "iraq" in dict(campaign.scores)
    assert _why(campaign, "iraq") == (
        "opened (two places, violence or ceasefire beside them), but the title frames a story of elections: not a topic"
    )
    assert any(e.topic == "iraq" and e.tier == "frame" and e.kind == "elections" for e in campaign.evidence)
    # The same story under a title with no election in it is the war.
    assert TAGGER.tag("العراق: صور قتلى المعارك في بغداد", text, "ar").primary == "iraq"
    # A title naming violence, or a core name of the conflict, is still the conflict.
    english = "Campaigners in Kandahar and Kabul said the fighting had kept voters away."
    clashes = TAGGER.tag("Clashes at election rallies in Afghanistan", english, "en")
    assert clashes.primary == "afghanistan-pakistan"
    taliban = TAGGER.tag("Taliban threats delay the Kandahar election", english, "en")
    assert taliban.primary == "afghanistan-pakistan"
    vote = TAGGER.tag("Afghanistan votes in the parliamentary election", english, "en")
    assert vote.topics == () and _why(vote, "afghanistan-pakistan").endswith("story of elections: not a topic")
    # Two of the war's own parties named make the election part of the war.
    paris = TAGGER.tag(
        "اتفاق في باريس على موعد الانتخابات الليبية",
        "اتفق خليفة حفتر ورئيس حكومة الوفاق الوطني في باريس على إجراء الانتخابات في ليبيا في ديسمبر.",
        "ar",
    )
    assert paris.primary == "libya"
    # One party and a town of the war are still the election's background.
    one_party = TAGGER.tag(
        "اتفاق في باريس على موعد الانتخابات الليبية",
        "قال خليفة حفتر في باريس إن الانتخابات في ليبيا ستجرى في ديسمبر، وإن مراكز الاقتراع ستفتح في سرت ومصراتة.",
        "ar",
    )
    assert one_party.topics == () and _why(one_party, "libya").endswith("story of elections: not a topic")
    # An election term in the body frames nothing.
    assert TAGGER.tag("Voting day in Afghanistan", english + " The election is on Saturday.", "en").topics == (
        "afghanistan-pakistan",
    )


def test_an_event_term_far_from_the_places_does_not_open_them():
    text = (
        "Libya and its capital Tripoli prepare for a trade fair.\n"
        + "Organisers expect many visitors from abroad this year.\n" * 3
        + "Elsewhere, clashes were reported between rival gangs in a distant country."
    )
    far = TAGGER.tag(None, text, "en")
    assert "libya" not in far.topics and _why(far, "libya").startswith("mentioned in passing")
    # The same clashes in the sentence after the places open it.
    near = TAGGER.tag(None, "Libya and its capital Tripoli prepare for a trade fair. Clashes broke out nearby.", "en")
    assert _why(near, "libya").startswith("opened")


def test_a_conflict_named_only_off_the_title_and_lead_is_not_a_topic():
    story = "The city council met on Tuesday to discuss the new budget and the bus lanes.\n" * 8
    aside = (
        "One councillor recalled visiting Ukraine before the Russian invasion of Ukraine and the shelling of Kharkiv."
    )
    tail = TAGGER.tag("Council budget approved", story + aside, "en")
    assert tail.topics == () and "russia-ukraine" in dict(tail.scores)
    assert _why(tail, "russia-ukraine").endswith("not a topic")
    lead = TAGGER.tag("Council budget approved", aside + "\n" + story, "en")
    assert lead.primary == "russia-ukraine"


def test_passing_mentions_are_findable_in_topic_scores_with_a_small_score():
    params = ScoringParams()
    text = "Syrian fighters were seen at the market, residents of the town said, as prices rose."
    result = TAGGER.tag("Prices rise at the market", text, "en")
    assert result.topics == ()
    assert dict(result.scores) == {"syria": params.mention_score}
    # Even with no floor at all a mention is never a topic.
    loose = TopicTagger(TAXONOMY, ScoringParams(min_score=0.01, min_share=0.0)).tag("Prices", text, "en")
    assert loose.topics == () and "syria" in dict(loose.scores)
    # A shared alias alone (Russia, Turkey) is no mention of any conflict; a flood cancels a place.
    assert TAGGER.tag(None, "Russia and Turkey signed a gas deal.", "en").scores == ()
    assert "sudan" not in dict(TAGGER.tag(None, "Floods swept Darfur after heavy rain.", "en").scores)


def test_the_refugees_of_a_war_are_a_core_event_of_it():
    text = (
        "جمدت وزارة الخارجية طلبات الإقامة لموظفي المفوضية، متهمة إياها بتخويف النازحين السوريين.\n"
        "وقال الوزير إن المفوضية تثني النازحين السوريين عن العودة إلى بلادهم.\n"
        "وتستضيف البلاد نحو مليون من النازحين السوريين.\n"
    )
    result = TAGGER.tag("الخارجية تجمد إقامات موظفي المفوضية", text, "ar")
    assert result.primary == "syria" and _why(result, "syria") == "opened (core events)"
    assert ("(ال)نازحين السوريين", "core") in {(e.alias, e.tier) for e in result.evidence}
    # The same text about "refugees" alone names the country in passing at most.
    plain = TAGGER.tag("الخارجية تجمد إقامات موظفي المفوضية", text.replace("النازحين السوريين", "النازحين"), "ar")
    assert plain.topics == ()


def test_a_war_between_two_parties_opens_on_its_places_only_when_both_are_named():
    text = (
        "اتهمت اللجنة الوزارية العربية طهران بدعم الميليشيات في المنطقة. "
        "وقالت إن الحرس الثوري الإيراني يزود الميليشيات بالصواريخ الباليستية.\n"
        "ودعت اللجنة إيران إلى وقف تدخلاتها.\n"
    )
    one_side = TAGGER.tag("اللجنة العربية تدين التدخلات الإيرانية", text, "ar")
    assert "iran-israel" not in one_side.topics
    assert _why(one_side, "iran-israel") == "mentioned in passing: not opened"
    both = TAGGER.tag("اللجنة العربية تدين التدخلات الإيرانية", text + "وحذرت إسرائيل من الرد.\n", "ar")
    assert _why(both, "iran-israel").startswith("opened (two places")
    # Each party under any of its names, the longer ones other conflicts share included.
    for israel in ("بنيامين نتنياهو", "جيش الاحتلال", "تل أبيب"):
        named = TAGGER.tag("اللجنة العربية تدين التدخلات الإيرانية", text + f"وحذر {israel} من الرد.\n", "ar")
        assert _why(named, "iran-israel").startswith("opened (two places"), israel
    english = "Airstrikes hit Isfahan and Tehran overnight, Iranian officials said. Benjamin Netanyahu did not comment."
    assert _why(TAGGER.tag(None, english, "en"), "iran-israel").startswith("opened")
    # The parties are the war's countries: Iranians killed in an Israeli strike, no other place named.
    strike = TAGGER.tag(
        "مقتل إيرانيين في القصف الإسرائيلي لمطار الضبعة", "قتل تسعة إيرانيين في القصف الإسرائيلي للمطار.", "ar"
    )
    assert _why(strike, "iran-israel").startswith("opened (two places")
    # ... and need a word of violence beside them, as any two places do.
    delegates = TAGGER.tag(None, "Iranian and Israeli delegates attended the Munich security conference.", "en")
    assert _why(delegates, "iran-israel") == "mentioned in passing: not opened"
    # Israel and Hezbollah's war too: Beirut's southern suburb and its militias, Israel unnamed, are Lebanese news.
    suburb = "احتشد أنصار حزب الله في الضاحية الجنوبية لبيروت، معقل ميليشيات الحزب، احتفالا بنتائج الانتخابات."
    assert _why(TAGGER.tag(None, suburb, "ar"), "israel-lebanon") == "mentioned in passing: not opened"
    struck = TAGGER.tag(None, suburb + " ثم قصفت طائرة إسرائيلية مبنى في الضاحية الجنوبية.", "ar")
    assert _why(struck, "israel-lebanon").startswith("opened (core place")
    # A party named only inside a longer place name ("southern Lebanon", "northern Israel") is named.
    south = "Israeli airstrikes killed three people in southern Lebanon on Tuesday, near Bint Jbeil."
    assert TAGGER.tag("Israeli strikes kill three in southern Lebanon", south, "en").primary == "israel-lebanon"
    north = "Hezbollah fired rockets at northern Israel, hitting Kiryat Shmona."
    assert TAGGER.tag("Rockets hit northern Israel", north, "en").primary == "israel-lebanon"
    arabic = "شنت طائرات حربية إسرائيلية غارات على بلدات في جنوب لبنان، ما أدى إلى مقتل ثلاثة أشخاص."
    assert TAGGER.tag("غارات إسرائيلية على جنوب لبنان", arabic, "ar").primary == "israel-lebanon"
    # A core name or actor opens it whatever the sides.
    named = TAGGER.tag("الحرب الإيرانية الإسرائيلية", text, "ar")
    assert _why(named, "iran-israel") == "opened (core names)"


def test_a_disaster_title_frames_a_disaster_story():
    places = "في ولايات شمال كردفان وجنوب دارفور وغرب دارفور والنيل الأزرق"
    text = (f"مقتل 23 شخصا ونزوح الآلاف جراء السيول والفيضانات {places}. " * 3).strip()
    flood = TAGGER.tag("فيضانات السودان تقتل وتشرد الآلاف", text, "ar")
    assert flood.topics == () and _why(flood, "sudan").endswith("story of disasters: not a topic")
    # The same toll from fighting is the war, whatever the floods nearby.
    fighting = TAGGER.tag("اشتباكات في دارفور تقتل وتشرد الآلاف", text + " واندلعت اشتباكات في دارفور.", "ar")
    assert fighting.primary == "sudan"


def test_nasser_is_not_the_south_sudanese_town_of_nasir():
    text = "أحيا المصريون ذكرى رحيل جمال عبد الناصر، وتذكروا قتلى حرب 1967 وجمال عبد الناصر يخطب في الناس."
    assert "south-sudan" not in TAGGER.tag("ذكرى رحيل عبد الناصر", text, "ar").topics
    town = TAGGER.tag("اشتباكات في الناصر", "اندلعت اشتباكات في بلدة الناصر بولاية أعالي النيل في جنوب السودان.", "ar")
    assert town.primary == "south-sudan"


def test_the_sudanese_is_no_mention_of_iraq():
    text = "أعلن الرئيس السوداني تعديلا وزاريا، وقال رئيس الوزراء السوداني إن الحكومة الجديدة ستعالج الأزمة الاقتصادية."
    assert "iraq" not in dict(TAGGER.tag("تعديل وزاري في الخرطوم", text, "ar").scores)
    iraqi = TAGGER.tag(
        "محمد شياع السوداني يزور أربيل", "التقى رئيس الوزراء محمد شياع السوداني في أربيل قادة الإقليم.", "ar"
    )
    assert "iraq" in dict(iraqi.scores)


def test_the_packaged_lists_read_the_same_with_either_yaml_loader():
    # libyaml's loader is taken for speed where PyYAML has it; it must read
    # the packaged taxonomy and agency list as the pure-Python one does.
    for text in (read_taxonomy_text(None), packaged_agencies_text()):
        assert yaml.load(text, Loader=SAFE_LOADER) == yaml.load(text, Loader=yaml.SafeLoader)
    assert SAFE_LOADER is getattr(yaml, "CSafeLoader", yaml.SafeLoader)
