import pytest

from stream.sentiment.classifier import prepare_text


@pytest.mark.parametrize(
    ("text", "prepared"),
    [
        ("$BYND - JPMorgan cuts https://t.co/bd0xbFGjkT", "$BYND - JPMorgan cuts http"),
        ("see www.example.com/a?b=1 now", "see http now"),
        ("no links here", "no links here"),
        ("", ""),
    ],
)
def test_links_become_a_placeholder(text: str, prepared: str) -> None:
    assert prepare_text(text, 128) == prepared


def test_huge_text_is_clipped_long_before_tokenizing() -> None:
    prepared = prepare_text("word " * 1_000_000, 128)
    assert 128 * 4 < len(prepared) <= 128 * 16
