"""The extraction evaluation's headline comparison (tests/extract_eval/score.py)."""

from tests.extract_eval.score import headline_right


def test_a_headline_is_compared_by_its_words():
    expected = "Entwurf des Selbstbestimmungsgesetzes: Ein bisschen Fortschritt\u200b"
    assert headline_right(expected, "Entwurf des Selbstbestimmungsgesetzes – ein bisschen Fortschritt")
    assert headline_right("ＡＢＣ  news", "abc news!")
    # An invisible character inside a word leaves one word, not two.
    assert not headline_right("Fort\u200bschritt", "Fort schritt")
    assert not headline_right(expected, "Entwurf des Selbstbestimmungsgesetzes")
    assert not headline_right(None, None)


def test_a_day_without_a_zone_is_the_local_day_of_the_instant():
    from datetime import UTC, datetime

    from tests.extract_eval.score import local_day_right

    new_york_evening = datetime(2022, 5, 4, 2, 36, tzinfo=UTC)  # 22:36 on May 3rd at UTC-4
    assert local_day_right("2022-05-03", new_york_evening, "minute")
    assert local_day_right("2022-05-04", new_york_evening, "minute")
    assert not local_day_right("2022-05-05", new_york_evening, "minute")
    # A day is compared as a day: no zone moves it.
    assert not local_day_right("2022-05-03", datetime(2022, 5, 4, tzinfo=UTC), "day")
    assert not local_day_right("2022-05-03", None, None) and not local_day_right("2022-01.26", new_york_evening, "day")
