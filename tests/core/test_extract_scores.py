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
