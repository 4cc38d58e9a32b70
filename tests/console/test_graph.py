"""The state graph drawn from ASL: every state and edge, a readable layout, and escaped SVG."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from infra.console.graph import END, START, layout, render_svg, state_graph, state_key
from tests.support.workflow import HAPPY_PATH

WORKFLOWS = sorted((Path(__file__).parents[2] / "workflows").glob("*.asl.json"))
ONBOARDING = json.loads((Path(__file__).parents[2] / "workflows" / "onboarding.asl.json").read_text())
SVG = "{http://www.w3.org/2000/svg}"

LOOPING = {
    "StartAt": "CheckPassword",
    "States": {
        "CheckPassword": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Next": "Route",
            "Catch": [{"ErrorEquals": ["NotAuthorized"], "Next": "RecordFailure"}],
        },
        "Route": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.mfa", "BooleanEquals": True, "Next": "AskForMfa"},
                {"Variable": "$.status", "StringEquals": "LOCKED", "Next": "RecordFailure"},
            ],
            "Default": "Done",
        },
        "AskForMfa": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Next": "Again?"},
        "Again?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.again", "BooleanEquals": True, "Next": "CheckPassword"}],
            "Default": "Done",
        },
        "RecordFailure": {"Type": "Pass", "Next": "Failed"},
        "Failed": {"Type": "Fail", "Error": "LoginFailed"},
        "Done": {"Type": "Succeed"},
    },
}


def edges_of(graph) -> set[tuple[str, str, str]]:
    return {(e.source, e.target, e.kind) for e in graph.edges}


def test_the_onboarding_graph_has_every_state_and_transition():
    graph = state_graph(ONBOARDING)
    assert set(graph.nodes) == {START, END} | {state_key(name) for name in ONBOARDING["States"]}
    edges = edges_of(graph)
    assert (START, state_key("CreateCognitoUser"), "next") in edges
    assert (state_key("CreateCognitoUser"), state_key("SendInvitation"), "next") in edges
    assert (state_key("WaitForConfirmation"), state_key("ExpireOnboarding"), "catch") in edges
    assert (state_key("WaitForConfirmation"), state_key("CompensateFailedOnboarding"), "catch") in edges
    assert (state_key("OnboardingComplete"), END, "end") in edges
    assert (state_key("OnboardingFailed"), END, "end") in edges
    timeout = next(e for e in graph.edges if e.target == state_key("ExpireOnboarding"))
    assert "States.Timeout" in timeout.label.split(", ")


def test_choice_rules_default_and_loops_become_edges():
    graph = state_graph(LOOPING)
    labels = {(e.source, e.target): e.label for e in graph.edges if e.kind in ("choice", "default")}
    assert labels[(state_key("Route"), state_key("AskForMfa"))] == "$.mfa == true"
    assert labels[(state_key("Route"), state_key("RecordFailure"))] == "$.status == 'LOCKED'"
    assert labels[(state_key("Route"), state_key("Done"))] == "default"
    assert (state_key("Again?"), state_key("CheckPassword"), "choice") in edges_of(graph)


def test_the_layout_runs_top_down_and_keeps_the_main_path_on_one_line():
    placed = layout(state_graph(ONBOARDING)).placed
    ys = [placed[state_key(name)].y for name in HAPPY_PATH]
    assert ys == sorted(ys) and len(set(ys)) == len(ys)
    assert {round(placed[state_key(name)].x) for name in HAPPY_PATH} == {round(placed[START].x)}
    assert placed[END].y > max(p.y for key, p in placed.items() if key != END)
    # Compensation comes after every state whose Catch leads to it.
    assert placed[state_key("CompensateFailedOnboarding")].y > placed[state_key("ActivateAccount")].y


@pytest.mark.parametrize("definition", [ONBOARDING, LOOPING], ids=["onboarding", "looping"])
def test_no_two_states_overlap(definition):
    placed = [p for p in layout(state_graph(definition)).placed.values() if not p.dummy]
    for i, a in enumerate(placed):
        for b in placed[i + 1 :]:
            apart_x = abs(a.x - b.x) >= (a.width + b.width) / 2
            apart_y = abs(a.y - b.y) >= (a.height + b.height) / 2
            assert apart_x or apart_y, (a.key, b.key)


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_every_workflow_renders_as_well_formed_svg_with_a_node_per_state(path):
    definition = json.loads(path.read_text())
    root = ET.fromstring(render_svg(state_graph(definition)))
    names = {g.get("data-state") for g in root.iter(f"{SVG}g") if g.get("data-state")}
    assert names == set(definition["States"]) | {"Start", "End"}
    assert float(root.get("width", "0")) > 0 and float(root.get("height", "0")) > 0


def test_names_and_labels_from_the_definition_are_escaped():
    hostile = '<script>alert("x")</script>'
    definition = {
        "StartAt": hostile,
        "States": {
            hostile: {
                "Type": "Choice",
                "Choices": [{"Variable": "$.a", "StringEquals": "</text><script>", "Next": "B&B"}],
                "Default": "B&B",
            },
            "B&B": {"Type": "Succeed", "Comment": "<img src=x onerror=alert(1)>"},
        },
    }
    svg = render_svg(state_graph(definition))
    assert "<script" not in svg and "<img" not in svg
    root = ET.fromstring(svg)  # still well-formed
    names = {g.get("data-state") for g in root.iter(f"{SVG}g") if g.get("data-state")}
    assert hostile in names and "B&B" in names
    assert any(a.get("href") == "#state-B%26B" for a in root.iter(f"{SVG}a"))


def test_statuses_and_the_path_taken_become_css_classes():
    graph = state_graph(ONBOARDING)
    graph.nodes[state_key("CreateCognitoUser")].status = "succeeded"
    graph.nodes[state_key("SendInvitation")].status = "waiting"
    for edge in graph.edges:
        edge.taken = edge.source == state_key("CreateCognitoUser") and edge.target == state_key("SendInvitation")
    root = ET.fromstring(render_svg(graph))
    status = {g.get("data-state"): g.get("class", "") for g in root.iter(f"{SVG}g") if g.get("data-state")}
    assert "state--succeeded" in status["CreateCognitoUser"]
    assert "state--waiting" in status["SendInvitation"]
    assert "state--not-run" in status["ActivateAccount"]
    taken = [p for p in root.iter(f"{SVG}path") if "edge--taken" in (p.get("class") or "")]
    assert [(p.get("data-source"), p.get("data-target")) for p in taken] == [("CreateCognitoUser", "SendInvitation")]
