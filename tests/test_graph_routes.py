"""Graph-route helpers that are pure functions: which of several documents about one name counts."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from banyan.retrieve.homes import names_each_other, other_homonyms, title_coverage, without_names
from banyan.retrieve.linking import exact_links, parenthesized, uncased, written_as_name
from banyan.text import bm25_tokens, word_tokens

NAMES = ["Edsel Ford", "David Elliot", "Ada Obi"]


def _asked(question: str) -> set[str]:
    return set(bm25_tokens(question))


def test_title_coverage_is_the_share_of_title_words_the_question_uses() -> None:
    asked = _asked("Where did Edsel Ford's father die?")
    assert title_coverage("Edsel Ford", asked) == 1.0
    assert 0 < title_coverage("Edsel Ford (poet)", asked) < 1.0
    assert title_coverage("", asked) == 0.0


def test_of_homonym_documents_the_one_the_question_titles_best_counts() -> None:
    homes = {"c1": (0, "Edsel Ford (disambiguation)"), "c2": (0, "Edsel Ford"), "c3": (0, "Edsel Ford (poet)")}
    passed = other_homonyms(homes, NAMES, ("Where did Edsel Ford's father die?"))
    assert passed == {(0, "Edsel Ford (disambiguation)"), (0, "Edsel Ford (poet)")}


def test_a_qualifier_the_question_states_picks_its_document() -> None:
    homes = {"c1": (1, "David Elliot (footballer)"), "c2": (1, "David Elliot (illustrator)")}
    passed = other_homonyms(homes, NAMES, ("Do David Elliot (Illustrator) and Eustace Ferguson share a nationality?"))
    assert passed == {(1, "David Elliot (footballer)")}


def test_an_entity_no_title_names_keeps_every_document_about_it() -> None:
    """Everyday notes: one person is the topic of several notes, none titled by the name."""
    homes = {"c1": (2, "Stand-up 2024-03-01"), "c2": (2, "HR note")}
    assert other_homonyms(homes, NAMES, ("Where was Ada Obi born?")) == set()


def test_an_entity_with_a_document_titled_by_its_name_has_that_one_home() -> None:
    homes = {"c1": (2, "Stand-up 2024-03-01"), "c2": (2, "HR note"), "c3": (2, "Ada Obi")}
    assert other_homonyms(homes, NAMES, ("Where was Ada Obi born?")) == {(2, "Stand-up 2024-03-01"),
                                                                              (2, "HR note")}
    # a title naming part of the entity's (merged) name names it too
    merged = ["Princess Elisabeth Anna of Prussia"]
    homes = {"c1": (0, "Princess Elisabeth Anna of Prussia"), "c2": (0, "Princess Elisabeth of Prussia")}
    assert other_homonyms(homes, merged, ("Where was the father of Princess Elisabeth Of Prussia born?")) == {
        (0, "Princess Elisabeth Anna of Prussia")}


def test_on_a_tie_the_first_in_rank_order_counts() -> None:
    homes = {"c1": (0, "Edsel Ford (poet)"), "c2": (0, "Edsel Ford (racer)")}
    assert other_homonyms(homes, NAMES, ("Edsel Ford's birthplace?")) == {(0, "Edsel Ford (racer)")}


def test_without_names_removes_the_linked_names_directions() -> None:
    rng = np.random.default_rng(0)
    q, names = rng.normal(size=8), rng.normal(size=(2, 8))
    v = without_names(q, names)
    assert abs(np.linalg.norm(v) - 1.0) < 1e-9
    np.testing.assert_allclose(names @ v, 0.0, atol=1e-9)  # nothing left of either name
    np.testing.assert_allclose(without_names(q, np.zeros((0, 8))), q / np.linalg.norm(q))
    # what is orthogonal to the names is kept: a question about "director" stays about directing
    director = np.linalg.qr(np.c_[names.T, rng.normal(size=8)])[0][:, 2]
    assert without_names(names[0] + director, names) @ director > 0.99


def test_a_parenthesized_qualifier_links_no_entity_of_its_own() -> None:
    text = "Where was the performer of song B Boy (Song) detained?"
    tokens = word_tokens(text)
    inside = parenthesized(text, tokens)
    assert [t for t, i in zip(tokens, inside) if i] == ["Song"]
    index = {"b boy": 0, "song": 1}
    assert exact_links(tokens, index, "en", inside) == {0: 1.0}
    assert exact_links(tokens, index, "en") == {0: 1.0, 1: 1.0}  # without the qualifier marks
    # a name that includes its parenthesized qualifier still links whole
    assert exact_links(tokens, {"b boy song": 2, "song": 1}, "en", inside) == {2: 1.0}
    zh = "上海轨道交通16号线（2010年前）的编号是多少？"
    assert any(parenthesized(zh, word_tokens(zh)))


def test_a_title_written_out_in_the_question_wins_over_an_equally_covered_one() -> None:
    homes = {"c1": (0, "Cherry Creek, Colorado"), "c2": (0, "Cherry Creek (Colorado)")}
    question = "Are Cherry Creek (Colorado) and Jucurucu River both located in the same country?"
    assert other_homonyms(homes, ["Cherry Creek"], question) == {(0, "Cherry Creek, Colorado")}


def test_which_titles_name_an_entity() -> None:
    assert names_each_other("Edsel Ford", "Edsel Ford (poet)")
    assert names_each_other("Cherry Creek", "Cherry Creek, Colorado")
    assert names_each_other("Princess Elisabeth Anna of Prussia", "Princess Elisabeth of Prussia")
    assert not names_each_other("Ada Obi", "HR note")
    assert names_each_other("上海", "上海 (消歧义)")
    assert not names_each_other("上海", "上海轨道交通16号线 (2010年前)")  # a longer name, not a homonym


def test_exact_links_keep_the_longest_match_and_drop_those_inside_it() -> None:
    index = {"ada obi": 0, "ada": 1, "grey river": 3, "river": 5, "kestrel bay": 4}
    tokens = word_tokens("Did Ada Obi meet Ada at the Grey River near Kestrel Bay?")
    assert exact_links(tokens, index) == {0: 1.0, 1: 1.0, 3: 1.0, 4: 1.0}  # "river" is inside "grey river"
    assert exact_links(word_tokens("The River and Ada"), index) == {5: 1.0, 1: 1.0}
    assert exact_links(word_tokens("Ada, Obi"), index) == {0: 1.0}  # punctuation between words is no word
    assert exact_links([], index) == {}


def test_a_question_without_capitals_links_what_the_corpus_uses_as_a_name() -> None:
    index = {"film": 0, "louis ii of hungary": 1, "hungary": 2}
    named = {1, 2}  # what the corpus mostly writes as that entity's name (not the word "film")
    asked: list[tuple[int, str]] = []

    def used_as_name(entity: int, words: Sequence[str]) -> bool:
        asked.append((entity, " ".join(words)))
        return entity in named

    lower = word_tokens("which film did the son of louis ii of hungary direct")
    assert exact_links(lower, index, "en", (), used_as_name) == {1: 1.0}  # "hungary" is inside the longer name
    assert asked == [(1, "louis ii of hungary"), (0, "film")]  # the longest first; nothing inside a link is asked
    assert exact_links(lower, index, "en") == {}  # without corpus evidence a lower-case word is no name
    phone = word_tokens("Which film did the son of louis ii of hungary direct")  # only the first word capitalized
    assert exact_links(phone, index, "en", (), used_as_name) == {1: 1.0}
    shout = word_tokens("WHICH FILM DID THE SON OF LOUIS II OF HUNGARY DIRECT")  # capitals on every word say nothing
    assert exact_links(shout, index, "en", (), used_as_name) == {1: 1.0}
    assert exact_links(shout, index, "en") == {0: 1.0, 1: 1.0}  # without the corpus, capitals count as before
    cased = word_tokens("Which film did the son of Louis II of Hungary direct")
    asked.clear()
    assert exact_links(cased, index, "en", (), used_as_name) == exact_links(cased, index, "en")
    assert asked == []  # capitals decide where the question has them


def test_written_as_name_reads_how_the_corpus_capitalizes_a_phrase() -> None:
    texts = ["Return of the Hero is a 1950 film. He saw Return of the Hero twice.",
             "Place of birth: Tbilisi. Her place of birth was Tbilisi.", "Film critics liked it. The film ran long."]
    assert written_as_name(texts, ["return", "of", "the", "hero"]) is True
    assert written_as_name(texts, ["place", "of", "birth"]) is False  # "birth" is lower case even in the heading
    assert written_as_name(texts, ["film"]) is False  # "Film" opens a sentence: only "the film" counts
    assert written_as_name(texts[2:], ["critics"]) is False
    assert written_as_name(["Film."], ["film"]) is None  # nothing but a sentence opening
    assert written_as_name(texts, ["zofia"]) is None
    assert written_as_name(["a son of Amaury de Montfort"], ["amaury", "de", "montfort"]) is True  # most words
    assert written_as_name(["as God's Gift to Women showed"], ["god", "s", "gift", "to", "women"]) is True
    assert written_as_name(["PLACE OF BIRTH: Tbilisi"], ["place", "of", "birth"]) is None  # capitals only say nothing
    assert written_as_name(["see the film\nHungary is big"], ["film", "hungary"]) is None  # not across a line


def test_which_questions_say_nothing_by_their_casing() -> None:
    assert uncased(word_tokens("where was zofia novak born"))
    assert uncased(word_tokens("Where was zofia novak born, I wonder"))  # a phone's capitals: the first word, "I"
    assert uncased(word_tokens("WHERE WAS ZOFIA NOVAK BORN"))
    assert not uncased(word_tokens("Where was Zofia Novak born"))
    assert uncased(word_tokens("林文远出生在哪里"))  # no cased letters: Chinese words look like names anyway
