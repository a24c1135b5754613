"""The scenario catalog: ids fixed by the issues, each citing an article, read without executing it."""

from __future__ import annotations

from pathlib import Path

from runner.run.catalog import load_catalog

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
IDS = {
    "lambda_simple",
    "lambda_tf_op",
    "lambda_closure_scalar",
    "lambda_closure_rebound",
    "lambda_closure_object",
    "lambda_named_function",
    "lambda_numpy",
    "lambda_numpy_mixed",
    "lambda_eval",
    "lambda_unpicklable_closure",
    "hub_in_lambda",
    "hub_direct",
    "subclass_with_config",
    "subclass_without_config",
    "custom_activation_layer",
    "stateful_layer",
    "estimator_conversion",
    "lambda_after_other_model",
    "lambda_canary",
    # one canary per way a file can run code or reach outside itself on load (issues 18 and 22)
    "canary_zip_duplicate_pickle",
    "canary_npz_object",
    "canary_config_callable",
    "canary_config_get_file",
    "canary_config_unsafe_switch",
    "canary_lookup_path",
    "canary_h5_as_keras",
    "canary_savedmodel_write_file",
    "canary_nested_lambda",
    "canary_compile_lambda",
    "canary_public_function",
}


def test_catalog_has_exactly_the_issue_ids() -> None:
    assert set(load_catalog()) == IDS


def test_every_scenario_cites_an_article_and_has_claim_and_fix() -> None:
    for scenario in load_catalog().values():
        assert scenario.title and scenario.claim and scenario.fix, scenario.id
        if scenario.id.startswith("canary_"):  # a vector cites its advisory, report or the source line it rests on
            assert scenario.source.startswith("https://"), scenario.id
            continue
        assert scenario.source.startswith("00") and scenario.source.endswith(".txt"), scenario.id
        if SEEDS.exists():
            assert (SEEDS / scenario.source).exists(), scenario.source


def test_every_canary_says_so_and_crafts_only_what_a_save_cannot_write() -> None:
    import ast

    from runner.harness.scenario import is_canary

    for scenario in load_catalog().values():
        if scenario.id.startswith("canary_") or scenario.id == "lambda_canary":
            assert is_canary(str(scenario.path)), scenario.id
            tree = ast.parse(scenario.path.read_text())
            crafts = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "craft"]
            assert all([a.arg for a in c.args.args] == ["fmt", "path", "model"] for c in crafts), scenario.id
        else:
            assert not is_canary(str(scenario.path)), scenario.id


def test_scenarios_stay_python37_compatible() -> None:
    # the harness and scenarios run on Python 3.7 in the oldest rows: no walrus, no match, no f"{x=}"
    import ast

    root = Path(__file__).resolve().parents[1] / "scenarios"
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text(), feature_version=(3, 7))
        assert not any(isinstance(n, ast.NamedExpr) for n in ast.walk(tree)), path
