"""AppTest of the Prune page: pick a model, select by id and by shortcut, see the verdict and
counts, get refused with a suggestion, prune and see the dense/masked/compacted table."""

import os

from streamlit.testing.v1 import AppTest

from explorer.models.key import ModelKey

from pathlib import Path

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "3_Prune.py")


def fresh(tmp_path, spec="resnet_tiny", granularity="op"):
    os.environ["EXPLORER_DATA_DIR"] = str(tmp_path)
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.session_state["explorer.model"] = ModelKey(spec, granularity, source="zoo")
    at.session_state["prune.model_id"] = f"zoo:{spec}"
    at.session_state["prune.granularity"] = granularity
    at.run()
    assert not at.exception, at.exception
    return at


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def test_select_branch_prune_and_table(tmp_path):
    at = fresh(tmp_path)
    assert not at.error
    assert metric(at, "nodes removed") == "0"
    at.button(key="prune.btn_branch").click().run()
    assert not at.exception, at.exception
    sel = at.session_state["explorer.selection"]
    assert sel.nodes, "the branch shortcut selected nodes"
    assert not at.error
    assert int(metric(at, "nodes removed")) == len(sel.nodes)
    assert metric(at, "params removed") != "0"
    at.button(key="prune.btn_prune").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    table = at.dataframe[0].value
    assert [f.split(" ")[0] for f in table["form"]] == ["dense", "rewritten", "compacted"]
    assert "speed-up vs dense" in table.columns and table["speed-up vs dense"][0] == "1 (reference)"
    res = at.session_state["prune.result"]
    assert (tmp_path / "exports").exists() and str(res.out).startswith(str(tmp_path))
    assert any("do not speed anything up" in c.value for c in at.caption)


def test_invalid_selection_is_refused_with_suggestion(tmp_path):
    at = fresh(tmp_path)
    at.multiselect(key="prune.ids").set_value(["block1_bn2->add", "stem_2->add"]).run()
    assert not at.exception, at.exception
    assert at.error and "Refused" in at.error[0].value and "node add would have no input" in at.error[0].value
    assert at.button(key="prune.btn_prune").disabled
    at.button(key="prune.btn_suggest").click().run()
    assert not at.error
    assert at.session_state["explorer.selection"].ids == ("block1_bn2->add",)


def test_unit_level_ids_and_retrain_request(tmp_path):
    at = fresh(tmp_path, "moons_mlp", "unit")
    at.multiselect(key="prune.ids").set_value(["fc1[0]", "fc1[1]"]).run()
    assert not at.exception and not at.error
    assert metric(at, "nodes removed") == "2"
    at.button(key="prune.btn_prune").click().run()
    assert not at.exception, at.exception
    at.button(key="prune.btn_retrain").click().run()
    req = at.session_state["explorer.retrain"]
    assert req.model == "moons_mlp" and req.granularity == "unit"
    assert os.path.isfile(os.path.join(req.pruned_dir, "spec.json"))


def test_opens_with_defaults_and_criteria_propose(tmp_path):
    os.environ["EXPLORER_DATA_DIR"] = str(tmp_path)
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    assert not at.exception and not at.error
    assert at.session_state["explorer.selection"].is_empty()
    # a criterion proposal becomes the (editable) selection or a mask to apply
    at.selectbox(key="prune.crit").set_value("magnitude").run()
    at.button(key="prune.btn_propose").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert (not at.session_state["explorer.selection"].is_empty()) or at.session_state["prune.proposal"] is not None
    assert not at.button(key="prune.btn_prune").disabled


def test_a_big_model_prunes_in_the_worker_with_progress(tmp_path):
    """squeezenet1_1 (1.2M parameters) at op level: *Prune* hands the pipeline to the worker; the page
    follows its progress and shows the table when it is done. The test stops the worker it started."""
    import signal
    import time

    at = fresh(tmp_path, "squeezenet1_1", "op")
    at.session_state["explorer.model"] = ModelKey("squeezenet1_1", "op", source="torchvision")
    at.run()
    at.selectbox(key="prune.crit").set_value("magnitude").run()
    at.selectbox(key="prune.target").set_value("units").run()
    at.slider(key="prune.sparsity").set_value(0.3).run()
    at.button(key="prune.btn_propose").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.button(key="prune.btn_prune").click().run()
    assert not at.exception, at.exception
    try:
        deadline = time.monotonic() + 600
        while "prune.result" not in at.session_state and time.monotonic() < deadline:
            time.sleep(1)
            at.run()
            assert not at.exception and not at.error, [e.value for e in at.error]
        res = at.session_state["prune.result"]
        assert [r["form"] for r in res.table] == ["dense", "masked", "compacted"]
        assert (res.out / "spec.json").is_file()
    finally:
        lock = tmp_path / "worker.lock"
        if lock.exists() and lock.read_text().strip().isdigit():
            try:
                os.kill(int(lock.read_text()), signal.SIGTERM)
            except ProcessLookupError:
                pass


def test_a_skip_arc_that_removes_nothing_is_said_before_pruning_and_not_timed(tmp_path):
    """mlp_skip's skip arc into the add: the page says the cut removes no parameters before Prune is pressed,
    and after it shows sizes with no timing and no speed-up, never a "slower" ×0.7 from noise."""
    at = fresh(tmp_path, "mlp_skip", "op")
    at.multiselect(key="prune.ids").set_value(["relu->add"]).run()
    assert not at.exception and not at.error
    assert metric(at, "params removed") == "0" and metric(at, "MACs removed") == "0"
    said = [i.value for i in at.info if "removes no parameters" in i.value]
    assert said and said[0].startswith("This cut removes no parameters: arc relu->add") and "no speed-up" in said[0]
    at.button(key="prune.btn_prune").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("The three forms were not timed" in i.value for i in at.info)
    table = at.dataframe[0].value
    assert list(table["speed-up vs dense"]) == ["1 (reference)", "none possible: same size", "none possible: same size"]
    assert set(table["latency (ms)"]) == {"not timed"}
    assert len(set(table["parameters"])) == 1  # the same size in every form
    assert not any("×0" in str(v) for v in table["speed-up vs dense"])
