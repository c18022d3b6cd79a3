"""A Hypothesis strategy for text that stresses RFC 8785, shared by the server's and the browser's encoder tests."""

from __future__ import annotations

from hypothesis import strategies as st

# Text that stresses RFC 8785 §3.2.2.2 escaping and §3.2.3 key order: CJK, emoji (surrogate pairs in
# UTF-16, which sort below U+E000..U+FFFF there but above them by code point), controls, quotes,
# backslashes, U+2028/U+2029. Lone surrogates are excluded: they are not UTF-8 and no event holds one.
TEXT = st.text(
    st.one_of(
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
        st.sampled_from(
            list('宁乡包菜合格证😀🥬\U0001f96c\ufffd\uffff\ue000"\\/\b\f\n\r\t\x00\x1f\x7f\u2028\u2029é')
        ),
    ),
    max_size=12,
)
