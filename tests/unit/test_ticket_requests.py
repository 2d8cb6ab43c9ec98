"""Request building: create/edit/comment bodies, the GUID stamp and its JQL, protected fields,
make_safe and the merge of deferred UPDATEs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driver.config import Config
from driver.errors import CommandError
from driver.model.commands import Action, ResolvedCommand, parse_command
from driver.model.creation_table import Mode, add_row, query_to_table, seed_table, set_mode
from driver.model.fields import FieldCatalog, FieldDef, FieldType
from driver.model.jql import jql_string
from driver.model.limits import MAX_LABEL, MAX_SUMMARY, MAX_TEXT, TRUNCATION_MARKER
from driver.model.requests import (
    KEY_PLACEHOLDER,
    PlannedRequest,
    RequestSettings,
    comment_bodies,
    comment_body,
    create_body,
    drop_protected,
    edit_body,
    make_safe,
    make_safe_comment,
    merge_updates,
    plan_requests,
)
from driver.model.shaping import utf16_len
from driver.model.stamps import (
    legacy_stamp_label,
    stamp_create_body,
    stamp_jql,
    stamp_key,
    stamp_label,
    stamp_value,
)

CATALOG = FieldCatalog.system().with_field(FieldDef("customfield_10101", "Alarm GUID", FieldType.STRING))
TABLE = seed_table("OPS", "Task")


def resolved(text: str) -> ResolvedCommand:
    return parse_command(text, CATALOG)


def test_create_body_lays_command_fields_over_the_table() -> None:
    table = set_mode(TABLE, "priority", Mode.INCLUDED)
    body = create_body(table, resolved("A|CREATE|summary;Disk full|labels;x|priority;High|"))
    assert body == {
        "fields": {
            "project": {"key": "OPS"},
            "issuetype": {"name": "Task"},
            "summary": "Disk full",
            "priority": {"name": "High"},
            "labels": ["x"],
        }
    }
    assert create_body(TABLE) == {
        "fields": {
            "project": {"key": "OPS"},
            "issuetype": {"name": "Task"},
            "summary": "Alarm from jira-driver",
        }
    }


def test_create_body_keeps_extras_and_lets_command_fields_leave_update() -> None:
    table = query_to_table(
        {
            "fields": {"summary": "s"},
            "update": {"labels": [{"add": "a"}], "comment": []},
            "transition": {"id": "5"},
        },
        TABLE,
        CATALOG,
    )
    body = create_body(table, resolved("A|CREATE|labels;b|"))
    assert body == {
        "fields": {"summary": "s", "labels": ["b"]},
        "update": {"comment": []},
        "transition": {"id": "5"},
    }
    # The table itself is untouched.
    assert table.extras["update"] == {"labels": [{"add": "a"}], "comment": []}


def test_edit_and_comment_bodies() -> None:
    command = resolved("A|UPDATE|priority;High|comment;one|comment;two\\nlines|")
    assert edit_body(command) == {"fields": {"priority": {"name": "High"}}}
    assert comment_bodies(command) == [{"body": "one"}, {"body": "two\nlines"}]
    assert comment_body("x", "adf") == {
        "body": {
            "type": "doc",
            "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": "x"}]}],
        }
    }


@pytest.mark.parametrize(
    ("guid", "label"),
    [
        ("12/345/6789", "alarm-12/345/6789"),
        ("a b\tc", "alarm-a_b_c"),
        ("9f1c2d3e-aaaa", "alarm-9f1c2d3e-aaaa"),
    ],
)
def test_legacy_stamp_label(guid: str, label: str) -> None:
    # The label earlier versions wrote (still searched for): whitespace became `_`.
    assert legacy_stamp_label(guid) == label


@pytest.mark.parametrize(
    ("guid", "label"),
    [
        ("12/345/6789", "alarm-12/345/6789"),
        ("9f1c2d3e-aaaa", "alarm-9f1c2d3e-aaaa"),
        ("a b\tc", "alarm-a_b_c_" + stamp_key("a b\tc")),
        ("a_b_c", "alarm-a_b_c_" + stamp_key("a_b_c")),
    ],
)
def test_stamp_label(guid: str, label: str) -> None:
    assert stamp_label(guid) == label


def test_long_guid_labels_are_cut_with_a_stable_hash() -> None:
    one, two = "G" * 256, "G" * 255 + "H"
    assert len(legacy_stamp_label(one)) == 255
    assert legacy_stamp_label(one) != legacy_stamp_label(two)
    assert legacy_stamp_label(one)[:-17] == legacy_stamp_label(two)[:-17]
    assert len(stamp_label(one)) == 255
    assert stamp_label(one) == stamp_label(one)
    assert stamp_label(one) != stamp_label(two)
    assert stamp_label(one)[:-35] == stamp_label(two)[:-35]
    assert stamp_label(one).endswith("_" + stamp_key(one))


def test_stamp_create_body_with_a_label() -> None:
    assert stamp_create_body({"fields": {}}, "A1") == {"fields": {"labels": ["alarm-A1"]}}
    assert stamp_create_body({"fields": {"labels": ["x"]}}, "A1") == {"fields": {"labels": ["x", "alarm-A1"]}}
    assert stamp_create_body({"fields": {"labels": ["alarm-A1"]}}, "A1") == {
        "fields": {"labels": ["alarm-A1"]}
    }
    assert stamp_create_body(
        {"fields": {}, "update": {"labels": [{"add": "x"}]}}, "A1", label_prefix="dm-"
    ) == {
        "fields": {},
        "update": {"labels": [{"add": "x"}, {"add": "dm-A1"}]},
    }
    original = {"fields": {"labels": ["x"]}}
    stamp_create_body(original, "A1")
    assert original == {"fields": {"labels": ["x"]}}


def test_stamp_create_body_with_a_guid_field() -> None:
    body = stamp_create_body({"fields": {"summary": "s"}}, "12/345", guid_field="customfield_10101")
    assert body == {"fields": {"summary": "s", "customfield_10101": "12/345"}}


def test_stamp_jql() -> None:
    assert stamp_jql("12/345/6789") == 'labels = "alarm-12/345/6789"'
    assert stamp_jql('a"b\\c', project="OPS") == 'project = "OPS" AND labels = "alarm-a\\"b\\\\c"'
    assert stamp_jql("12/345", guid_field="customfield_10101") == 'cf[10101] ~ "\\"12/345\\""'
    assert stamp_jql('x"y', guid_field="customfield_7") == 'cf[7] ~ "\\"x\\\\\\"y\\""'
    assert jql_string('say "hi"') == '"say \\"hi\\""'


def test_drop_protected_by_id_or_name() -> None:
    body = {"fields": {"assignee": {"name": "x"}, "summary": "s", "customfield_10101": "g"}}
    result, dropped = drop_protected(body, ["Assignee", "alarm guid", "reporter"], CATALOG)
    assert result == {"fields": {"summary": "s"}}
    assert dropped == ("assignee", "customfield_10101")
    result, dropped = drop_protected({"fields": {}, "update": {"labels": []}}, ["labels"])
    assert (result, dropped) == ({"fields": {}, "update": {}}, ("labels",))


def test_make_safe() -> None:
    body = {
        "fields": {
            "summary": "s" * 300,
            "description": "d" * (MAX_TEXT + 1),
            "labels": ["a b", "ok", "tab\there"],
        }
    }
    safe, notes = make_safe(body)
    fields = safe["fields"]
    assert len(fields["summary"]) == MAX_SUMMARY
    assert fields["summary"].endswith(TRUNCATION_MARKER)
    assert len(fields["description"]) == MAX_TEXT
    assert fields["description"].endswith(TRUNCATION_MARKER)
    assert fields["labels"] == ["a_b", "ok", "tab_here"]
    assert notes == (
        "summary cut from 300 to 255 characters",
        f"description cut from {MAX_TEXT + 1} to {MAX_TEXT} characters",
        "label 'a b' changed to 'a_b'",
        "label 'tab\\there' changed to 'tab_here'",
    )
    assert body["fields"]["summary"] == "s" * 300
    assert make_safe({"fields": {"summary": "ok"}}) == ({"fields": {"summary": "ok"}}, ())
    assert make_safe({"fields": {"summary": "two\r\nlines\nhere"}}) == (
        {"fields": {"summary": "two lines here"}},
        ("summary line breaks replaced by spaces",),
    )


def test_make_safe_adf() -> None:
    body = {"fields": {"environment": comment_body("e" * (MAX_TEXT + 5), "adf")["body"]}}
    safe, notes = make_safe(body)
    text = safe["fields"]["environment"]["content"][0]["content"][0]["text"]
    assert len(text) == MAX_TEXT
    assert notes
    comment, notes = make_safe_comment({"body": "c" * (MAX_TEXT + 1)})
    assert len(comment["body"]) == MAX_TEXT
    assert notes == (f"comment cut from {MAX_TEXT + 1} to {MAX_TEXT} characters",)


def test_merge_updates() -> None:
    first = resolved("A|UPDATE|priority;Low|summary;s|comment;one|")
    second = resolved("A|UPDATE|priority;High|labels;x|comment;two|")
    merged = merge_updates(first, second)
    assert merged.fields == {"priority": {"name": "High"}, "summary": "s", "labels": ["x"]}
    assert merged.comments == ("one", "two")
    assert first.fields["priority"] == {"name": "Low"}
    with pytest.raises(ValueError, match="different GUIDs"):
        merge_updates(first, resolved("B|UPDATE|"))
    with pytest.raises(ValueError, match="only UPDATE"):
        merge_updates(first, resolved("A|CREATE|"))


def test_plan_create() -> None:
    plan = plan_requests(resolved("A1|CREATE|summary;Disk full|"), TABLE, RequestSettings())
    assert plan.action == Action.CREATE
    assert plan.main == PlannedRequest(
        "POST",
        "rest/api/latest/issue",
        {
            "fields": {
                "project": {"key": "OPS"},
                "issuetype": {"name": "Task"},
                "summary": "Disk full",
                "labels": ["alarm-A1"],
            }
        },
    )
    assert plan.comments == ()


def test_plan_update_with_protection_comments_and_key() -> None:
    settings = RequestSettings(
        ticket_location="/rest/api/3/issue/", text_format="adf", protected_fields=("assignee",)
    )
    plan = plan_requests(
        resolved("A1|UPDATE|assignee;bob|priority;High|comment;hi|"), TABLE, settings, CATALOG
    )
    assert plan.main == PlannedRequest(
        "PUT", f"rest/api/3/issue/{KEY_PLACEHOLDER}", {"fields": {"priority": {"name": "High"}}}
    )
    assert plan.dropped_fields == ("assignee",)
    assert plan.notes == ("protected fields not updated: assignee",)
    assert [c.path for c in plan.comments] == ["rest/api/3/issue/{key}/comment"]
    assert plan.comments[0].body["body"]["type"] == "doc"
    keyed = plan.with_key("OPS-7")
    assert keyed.main is not None
    assert keyed.main.path == "rest/api/3/issue/OPS-7"
    assert keyed.comments[0].path == "rest/api/3/issue/OPS-7/comment"


def test_plan_update_with_only_comments_sends_no_edit() -> None:
    plan = plan_requests(resolved("A1|UPDATE|comment;hi|"), TABLE, RequestSettings())
    assert plan.main is None
    assert [c.to_json() for c in plan.comments] == [
        {"method": "POST", "path": "rest/api/latest/issue/{key}/comment", "body": {"body": "hi"}}
    ]


def test_plan_create_with_guid_field_and_custom_rows() -> None:
    table = add_row(TABLE, FieldDef("customfield_5", "Count", FieldType.NUMBER), "3")
    settings = RequestSettings(guid_field="customfield_10101")
    plan = plan_requests(resolved("G|CREATE|"), table, settings)
    assert plan.main is not None
    assert plan.main.body["fields"]["customfield_5"] == 3
    assert plan.main.body["fields"]["customfield_10101"] == "G"
    assert "labels" not in plan.main.body["fields"]


def test_settings_from_config() -> None:
    config = Config.model_validate(
        {
            "jira": {"ticket_location": "rest/api/3/issue", "api_type": "cloud"},
            "ticket": {"guid_field": "customfield_10101", "guid_label_prefix": "dm-"},
            "update": {"protected_fields": "assignee, reporter"},
        }
    )
    assert config.request_settings() == RequestSettings(
        ticket_location="rest/api/3/issue",
        user_style="cloud",
        text_format="adf",
        guid_field="customfield_10101",
        guid_label_prefix="dm-",
        protected_fields=("assignee", "reporter"),
    )
    default = Config().request_settings()
    assert (default.user_style, default.text_format) == ("datacenter", "plain")
    assert Config().request_settings(user_style="cloud").user_style == "cloud"


# --- issue 10: empty values on CREATE, the stamp kept on UPDATE, lengths in UTF-16 units -----


def test_create_leaves_out_empty_values_and_keeps_the_tables() -> None:
    table = set_mode(
        add_row(TABLE, FieldDef("labels", "Labels", FieldType.LABELS), "ops"), "labels", Mode.INCLUDED
    )
    command = resolved("A1|CREATE|components;|labels;|priority;|assignee;|summary;x|components;|")
    assert command.fields == {"summary": "x"}
    assert command.left_out == ("components", "labels", "priority", "assignee")
    plan = plan_requests(command, table, RequestSettings())
    assert plan.main is not None
    fields = plan.main.body["fields"]
    assert "components" not in fields
    assert "priority" not in fields  # the seeded priority row is Excluded
    assert "assignee" not in fields
    assert fields["labels"] == ["ops", "alarm-A1"]  # the table's Included value stays
    assert plan.notes == ("left out (empty value): components, labels, priority, assignee",)
    # A later non-empty value of the same field wins again.
    assert resolved("A1|CREATE|components;|components;X|").fields == {"components": [{"name": "X"}]}


def test_a_list_blank_only_once_split_is_left_out_of_a_create_too() -> None:
    # `components; , ` is not blank as typed, but splits into nothing: sent as [] Jira refuses the
    # ticket when the field is not on the create screen (a field report of issue 17).
    command = resolved("A1|CREATE|summary;x|components; , |labels;,,| versions ; ,  , |")
    assert command.fields == {"summary": "x"}
    assert command.left_out == ("components", "labels", "versions")
    plan = plan_requests(command, TABLE, RequestSettings())
    assert plan.main is not None
    assert "components" not in plan.main.body["fields"]
    assert "versions" not in plan.main.body["fields"]
    assert plan.notes == ("left out (empty value): components, labels, versions",)
    # On an UPDATE it clears the field, as an empty value does.
    assert resolved("A1|UPDATE|components; , |").fields == {"components": []}


def test_update_still_clears_with_empty_values() -> None:
    command = resolved("A1|UPDATE|components;|assignee;|duedate;|")
    assert command.fields == {"components": [], "assignee": None, "duedate": None}


@pytest.mark.parametrize("guid", ["A1", "env TEST", "G" * 256])
def test_update_of_labels_adds_and_removes_what_the_driver_set_and_keeps_the_stamp(guid: str) -> None:
    stamp = stamp_label(guid)
    first = plan_requests(resolved(f"{guid}|UPDATE|labels;a,b|"), TABLE, RequestSettings())
    assert first.main is not None
    assert first.main.body == {
        "update": {"labels": [{"add": stamp}, {"add": "a"}, {"add": "b"}]},
    }
    assert first.sets == {"labels": ["a", "b"]}
    # the driver set a and b before: b goes, c comes, labels it never set are not named
    before = {"labels": ["a", "b"]}
    second = plan_requests(resolved(f"{guid}|UPDATE|labels;a,c|"), TABLE, RequestSettings(), before=before)
    assert second.main is not None
    assert second.main.body["update"] == {"labels": [{"add": stamp}, {"add": "c"}, {"remove": "b"}]}
    cleared = plan_requests(resolved(f"{guid}|UPDATE|labels;|"), TABLE, RequestSettings(), before=before)
    assert cleared.main is not None
    assert cleared.main.body["update"] == {"labels": [{"add": stamp}, {"remove": "a"}, {"remove": "b"}]}
    assert cleared.sets == {"labels": []}
    # The stamp named by the command is neither recorded nor removed later.
    named = plan_requests(resolved(f"{guid}|UPDATE|labels;{stamp},c|"), TABLE, RequestSettings())
    assert named.main is not None
    assert named.main.body["update"] == {"labels": [{"add": stamp}, {"add": "c"}]}
    assert named.sets == {"labels": ["c"]}


def test_a_create_records_the_multi_values_it_sets() -> None:
    plan = plan_requests(resolved("A1|CREATE|summary;x|labels;a,b|components;Net|"), TABLE, RequestSettings())
    assert plan.sets == {"labels": ["a", "b"], "components": [{"name": "Net"}]}


def test_components_are_edited_by_add_and_remove() -> None:
    before = {"components": [{"name": "Net"}, {"name": "Core"}]}
    plan = plan_requests(resolved("A1|UPDATE|components;Core,Edge|"), TABLE, RequestSettings(), before=before)
    assert plan.main is not None
    assert plan.main.body["update"] == {
        "components": [{"add": {"name": "Edge"}}, {"remove": {"name": "Net"}}]
    }
    # nothing changed: nothing sent for the field, and no PUT at all
    same = plan_requests(resolved("A1|UPDATE|components;Net,Core|"), TABLE, RequestSettings(), before=before)
    assert same.main is None


labels_text = st.text(alphabet="abcdef", min_size=1, max_size=2)


@given(
    st.sets(labels_text, max_size=5),
    st.sets(labels_text, max_size=5),
    st.sets(labels_text, max_size=5),
)
def test_the_verbs_change_only_what_the_driver_set(people: set[str], before: set[str], now: set[str]) -> None:
    """Whatever the ticket holds (labels people added, those the driver set before), applying the
    verbs as Jira does leaves it with the command's labels, the stamp, and every label the driver
    never set."""
    stamp = stamp_label("A1")
    on_ticket = people | before | {stamp}
    text = ",".join(sorted(now))
    plan = plan_requests(
        resolved(f"A1|UPDATE|labels;{text}|"), TABLE, RequestSettings(), before={"labels": sorted(before)}
    )
    assert plan.main is not None
    result = set(on_ticket)
    for verb in plan.main.body["update"]["labels"]:
        ((op, label),) = verb.items()
        if op == "add":
            result.add(label)
        else:
            result.discard(label)
    assert result == (on_ticket - (before - now)) | now | {stamp}
    assert plan.sets == {"labels": sorted(now)}


def test_update_never_touches_the_guid_field_stamp() -> None:
    settings = RequestSettings(guid_field="customfield_10101")
    plan = plan_requests(resolved("A1|UPDATE|Alarm GUID;other|labels;a|"), TABLE, settings, CATALOG)
    assert plan.main is not None
    assert plan.main.body == {"update": {"labels": [{"add": "a"}]}}
    assert plan.notes == ("customfield_10101 holds the GUID stamp: not updated",)
    # An edit of only the stamp field sends no PUT at all.
    only = plan_requests(resolved("A1|UPDATE|customfield_10101;x|"), TABLE, settings, CATALOG)
    assert only.main is None


def test_update_cannot_clear_priority() -> None:
    with pytest.raises(CommandError) as caught:
        resolved("A1|UPDATE|priority;|")
    assert "cannot be cleared" in caught.value.reason
    assert caught.value.position == len("A1|UPDATE|priority;") + 1


def test_summary_of_emoji_is_cut_in_utf16_units() -> None:
    body, notes = make_safe({"fields": {"summary": "😀" * 300}})
    summary = body["fields"]["summary"]
    assert utf16_len(summary) <= MAX_SUMMARY
    assert summary.endswith(TRUNCATION_MARKER)
    assert set(summary.removesuffix(TRUNCATION_MARKER)) == {"😀"}
    assert notes == ("summary cut from 600 to at most 255 UTF-16 units (300 characters)",)


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n")
        | st.characters(min_codepoint=0x10000),
        max_size=400,
    )
)
def test_make_safe_fits_every_summary_and_label_in_utf16_units(text: str) -> None:
    body, _ = make_safe({"fields": {"summary": text, "labels": [text.replace(" ", "") or "x"]}})
    summary = body["fields"]["summary"]
    assert utf16_len(summary) <= MAX_SUMMARY
    assert utf16_len(body["fields"]["labels"][0]) <= MAX_LABEL
    summary.encode("utf-16-le")  # no lone surrogate: no pair was split
    if utf16_len(text) <= MAX_SUMMARY:
        assert summary == text


# --- issue 11: a GUID's later tickets carry their own stamp ----------------------------------


def test_plan_stamps_the_tickets_generation() -> None:
    create = resolved("A1|CREATE|summary;Disk full|")
    first = plan_requests(create, TABLE, RequestSettings())
    assert first == plan_requests(create, TABLE, RequestSettings(), generation=1)
    second = plan_requests(create, TABLE, RequestSettings(), generation=2)
    assert second.main is not None
    assert second.main.body["fields"]["labels"] == [stamp_label("A1", generation=2)]
    assert second.main.body["fields"]["labels"] != ["alarm-A1"]
    by_field = plan_requests(create, TABLE, RequestSettings(guid_field="customfield_10101"), generation=3)
    assert by_field.main is not None
    assert by_field.main.body["fields"]["customfield_10101"] == stamp_value("A1", 3)
    assert "labels" not in by_field.main.body["fields"]
    # An UPDATE that sets labels keeps its own ticket's stamp, and not the first ticket's.
    update = plan_requests(resolved("A1|UPDATE|labels;a|"), TABLE, RequestSettings(), generation=2)
    assert update.main is not None
    assert update.main.body["update"]["labels"] == [{"add": stamp_label("A1", generation=2)}, {"add": "a"}]
    with pytest.raises(ValueError, match="generation"):
        plan_requests(create, TABLE, RequestSettings(), generation=0)


def test_stamp_create_body_and_jql_of_a_later_generation() -> None:
    label = stamp_label("A1", generation=2)
    assert stamp_create_body({"fields": {"labels": ["x"]}}, "A1", generation=2) == {
        "fields": {"labels": ["x", label]}
    }
    assert stamp_create_body({"fields": {}, "update": {"labels": []}}, "A1", generation=2) == {
        "fields": {},
        "update": {"labels": [{"add": label}]},
    }
    assert stamp_jql("A1", project="OPS", generation=2) == f'project = "OPS" AND labels = "{label}"'
    assert stamp_jql("12/345", guid_field="customfield_10101", generation=2) == (
        f'cf[10101] ~ "{stamp_key("12/345", 2)}"'
    )
