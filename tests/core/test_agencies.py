"""Wire-agency attribution without Beam: credits in datelines, credit lines
and bylines; citations, photo credits and the outlet's own name are not
credits."""

from __future__ import annotations

import pytest

from transforms.core.agencies import AgencyError, AgencyMatcher, parse_agencies

MATCHER = AgencyMatcher()


def _attr(text: str, author: str | None = None):
    return MATCHER.attribute(text, author)


@pytest.mark.parametrize(
    "text,agency,place",
    [
        ("KYIV (Reuters) - Russia struck the capital overnight, officials said.", "reuters", "KYIV"),
        ("HAYWARD, Calif. (AP) — A stabbing on a commuter train killed one.", "ap", "HAYWARD, Calif."),
        ("COLUMBIA, S.C. (AP) — About a dozen owners gathered.", "ap", "COLUMBIA, S.C."),
        ("باكو (أ ف ب) - أعلنت وزارة الدفاع الأذربيجانية", "afp", "باكو"),
        ("دمشق - (سانا) - أعلنت وزارة الداخلية", "sana", "دمشق"),
        ("(رويترز) - قال مسؤولون إن المحادثات انتهت", "reuters", None),
        ("باكو (وكالات) - تواصلت الاشتباكات", "wires", "باكو"),
        ("【6月18日 AFP】ナイジェリア北東部で", "afp", None),
    ],
)
def test_a_dateline_credits_its_agency_and_gives_the_place(text, agency, place):
    result = _attr(text)
    assert result.agencies == (agency,)
    assert [c.where for c in result.credits] == ["dateline"]
    assert result.dateline == place


def test_a_dateline_after_captions_is_still_found():
    text = "People walk past the exchange in Mumbai May 13, 2014.\nThe best of 2014.\nMUMBAI (Reuters) - Shares ended flat."
    result = _attr(text)
    assert result.agencies == ("reuters",) and result.dateline == "MUMBAI"


def test_the_outlets_own_dateline_gives_a_place_and_no_agency():
    result = MATCHER.attribute("دبي، الإمارات العربية المتحدة (CNN)-- أعلنت السلطات اليوم", outlet="CNN Arabic")
    assert result.agencies == () and result.dateline == "دبي، الإمارات العربية المتحدة"
    # Without the outlet, a bracket that is no agency opens no dateline: "(جنوب فرنسا) -" is running text.
    assert _attr("دبي، الإمارات العربية المتحدة (CNN)-- أعلنت السلطات اليوم").dateline is None
    caps = _attr("LONDON — The government said on Monday it would act.")
    assert caps.agencies == () and caps.dateline == "LONDON"


@pytest.mark.parametrize(
    "last,agencies",
    [
        ("فرانس24/ أ ف ب", ("afp",)),
        ("فرانس 24/ أ ف ب/ رويترز", ("afp", "reuters")),
        ("فرانس24/ وكالات", ("wires",)),
        ("(AFP)", ("afp",)),
        ("Source: Reuters", ("reuters",)),
        ("المصدر: أ ش أ", ("mena",)),
        ("© 2019 Associated Press", ("ap",)),
        ("(Reporting by Will Dunham; Editing by Tom Brown)", ("reuters",)),
    ],
)
def test_a_credit_line_at_the_end_credits_its_agencies(last, agencies):
    text = f"قالت الحكومة إن الاجتماع سيعقد الأسبوع المقبل في العاصمة.\nوأضافت أن المشاركين سيبحثون عدة ملفات.\n{last}"
    result = _attr(text)
    assert result.agencies == agencies
    assert {c.where for c in result.credits} == {"credit line"}


def test_a_closing_bracket_after_the_last_sentence_is_a_credit():
    text = "The minister resigned on Tuesday after weeks of protests over the budget and the new tax rules. (AFP)"
    assert _attr(text).agencies == ("afp",)


@pytest.mark.parametrize(
    "text",
    [
        "وقال مسؤول لوكالة فرانس برس إن الهجوم وقع فجرا.\nوأضاف أن التحقيق جار.",
        "وفقا لرويترز، ارتفعت الأسعار.\nونقلت وكالة الأناضول عن مصادر قولها ذلك.",
        "The minister told Reuters the talks had failed.\nAccording to AFP, the vote was delayed.",
        "Two Reuters journalists were jailed in Myanmar.\nThe agency said it would appeal.",
        "Photo: AFP\nThe story begins here and goes on.",
        "The game ended late.\nRichard Vogel/AP",
        "الاتحاد الدولي لكرة القدم (فيفا) قال إن البطولة ستقام في موعدها.",
    ],
)
def test_citations_photo_credits_and_acronyms_credit_nothing(text):
    assert _attr(text).agencies == ()


@pytest.mark.parametrize(
    "text",
    [
        # A citation with the agency's initials in brackets, then a colon: a quote, not a dateline.
        "وقال سبان لوكالة الأنباء الألمانية (د.ب.أ) : إن الفريق جاهز",
        "وأضاف في بيان نقلته وكالة الأنباء السعودية (واس): إن الاجتماع انتهى",
        "He told the Associated Press (AP): the group would not give up.",
        # The same initials glossing a name at the end of the text.
        "وجاء ذلك في بيان رسمي طويل عن الزيارة والاتفاقات الموقعة خلال اللقاء، ونقلته وكالة الأنباء الروسية (تاس)",
        # An acronym closing the text, or opening a later paragraph.
        "Veterans of the war gathered on Sunday to remember those who served in the Indian National Army (INA)",
        "First paragraph.\nSecond paragraph.\nThe Alliance Party (AP) - in coalition - won the vote.",
        # Photographers' credits.
        "The crowd gathered at the border fence.\nMahmud Hams/AFP",
        "The crowd gathered at the border fence.\nREUTERS/Ammar Awad",
    ],
)
def test_glosses_quotes_acronyms_and_photographers_credit_nothing(text):
    assert _attr(text).agencies == ()


@pytest.mark.parametrize("opening", ["وقال بكر (جنوب فرنسا) - إن", "BREAKING — The", "UPDATE - The", "FILE PHOTO - A"])
def test_a_sentence_or_a_newsroom_label_is_no_dateline(opening):
    assert _attr(f"{opening} minister spoke on Monday.").dateline is None


def test_given_names_in_a_byline_are_no_agencies():
    for author in ("Petra and Jan Novak", "Sana & Ali Hassan", "Tasnim", "Ria"):
        assert _attr("Text of the story.", author).agencies == (), author
    assert _attr("دمشق (سانا) - أعلنت الوزارة").agencies == ("sana",)  # the same name in a dateline is SANA


def test_a_short_spelling_counts_only_alone():
    # "AP" is a credit in "(AP)" or alone on a line, not beside a photographer's name.
    assert _attr("The storm hit the coast.\nAP").agencies == ("ap",)
    assert _attr("The storm hit the coast.\nJohn Smith/AP").agencies == ()


def test_a_byline_credits_the_agency_it_names():
    assert _attr("Text of the story.", "By The Associated Press").agencies == ("ap",)
    assert _attr("Text of the story.", "Reuters").credits[0].where == "byline"
    assert _attr("Text of the story.", "Jane Doe").agencies == ()


def test_credits_in_two_places_are_both_kept_and_the_agency_once():
    text = "WASHINGTON (Reuters) - The Senate voted.\nMore text.\n(Reporting by Will Dunham; Editing by Tom Brown)"
    result = _attr(text)
    assert result.agencies == ("reuters",)
    assert [c.where for c in result.credits] == ["dateline", "credit line"]
    assert result.columns()["agency_credits"][0] == {"agency": "reuters", "where": "dateline", "text": "Reuters"}


def test_a_malformed_agency_list_is_refused_with_the_reason():
    with pytest.raises(AgencyError, match="twice"):
        parse_agencies("version: 1\nagencies:\n  - {id: a, names: {en: [A]}}\n  - {id: a, names: {en: [B]}}\n")
    with pytest.raises(AgencyError, match="lacks id or names"):
        parse_agencies("version: 1\nagencies:\n  - {id: a}\n")
