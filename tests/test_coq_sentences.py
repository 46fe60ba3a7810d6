import pytest

from proofsmith.checker.coq.sentences import CoqSyntaxError, SentenceKind, leading_word, split_sentences, strip_comments


def texts(script):
    return [s.text for s in split_sentences(script)]


def test_periods_inside_comments_strings_and_qualified_names_do_not_split():
    script = 'idtac "a. b". (* c. (* d. *) e. *) rewrite Nat.add_0_r. exact I.'
    assert texts(script) == ['idtac "a. b".', "rewrite Nat.add_0_r.", "exact I."]


def test_bullets_and_braces_are_sentences_of_their_own():
    script = "split.\n- exact I.\n-- auto.\n+ { exact I. }\n2: { lia. }"
    got = split_sentences(script)
    assert [s.text for s in got] == ["split.", "-", "exact I.", "--", "auto.", "+", "{", "exact I.", "}", "2: {", "lia.", "}"]
    assert got[1].kind is SentenceKind.BULLET and got[6].kind is SentenceKind.BRACE


def test_escaped_quote_in_string_and_offsets():
    script = 'idtac "say ""hi"". now".  auto.'
    got = split_sentences(script)
    assert [s.text for s in got] == ['idtac "say ""hi"". now".', "auto."]
    assert all(script[s.start:s.end] == s.text for s in got)


def test_period_not_followed_by_blank_is_not_an_end():
    assert texts("exact I.Qed. auto.") == ["exact I.Qed.", "auto."]


@pytest.mark.parametrize("bad", ["(* open comment", 'idtac "open string', "intros"])
def test_unterminated_input_is_an_error(bad):
    with pytest.raises(CoqSyntaxError):
        split_sentences(bad)


def test_leading_word_skips_comments_and_goal_selectors():
    assert leading_word("(* hi *) all: Admitted.") == "Admitted"
    assert leading_word("2-3: lia.") == "lia"
    assert leading_word("[H]: auto.") == "auto"
    assert strip_comments('a (* b "*)" *) c') == "a   c"
