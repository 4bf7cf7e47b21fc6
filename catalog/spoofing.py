"""Text that shows one thing and means another: refused in what readers submit.

- Bidirectional controls (U+202E RIGHT-TO-LEFT OVERRIDE and its kin) reorder
  what is displayed, so "gpj.exe" reads as "exe.jpg".
- Look-alike host names: a label that mixes scripts ("аpple" with a Cyrillic
  "а"), or one written wholly in letters that pass for Latin ones ("аррӏе")
  in a name whose other labels are Latin ("аррӏе.com"). The letters' scripts
  and look-alikes come from Unicode's confusables data (confusable-homoglyphs).
"""

from confusable_homoglyphs import categories, confusables

BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_NEUTRAL = {"COMMON", "INHERITED"}
# Scripts that are written together (UTS #39's "highly restrictive" level).
_USUAL_MIXES = (
    {"LATIN", "HAN", "HIRAGANA", "KATAKANA"},
    {"LATIN", "HAN", "BOPOMOFO"},
    {"LATIN", "HAN", "HANGUL"},
)


def has_bidi_controls(text):
    return any(ch in BIDI_CONTROLS for ch in text)


def _scripts(label):
    return {categories.alias(ch) for ch in label if ch.isalpha()} - _NEUTRAL


def _passes_for_latin(label):
    """Every letter of a non-Latin `label` has a Latin look-alike."""
    found = confusables.is_confusable(label, greedy=True, preferred_aliases=["latin"]) or []
    lookalikes = {item["character"] for item in found}
    return all(ch in lookalikes for ch in label if ch.isalpha())


def confusable_host(host):
    """The first label of `host` (Unicode form) that can pass for another name, or None."""
    labels = [label for label in host.lower().split(".") if label]
    latin_elsewhere = any(_scripts(label) == {"LATIN"} for label in labels)
    for label in labels:
        scripts = _scripts(label)
        if len(scripts) > 1 and not any(scripts <= usual for usual in _USUAL_MIXES):
            return label
        if scripts and scripts != {"LATIN"} and latin_elsewhere and _passes_for_latin(label):
            return label
    return None
