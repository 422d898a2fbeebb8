"""Model soups: the weight average, the checks that runs are ingredients of one soup, and a soup of
two short real trainings."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from stream.errors import ConfigError
from stream.sentiment.soup import average_weights, check_same_recipe, make_soup
from tests.unit.sentiment.quick_training import needs_data, train_quick


def test_average_is_elementwise_mean_and_keeps_integer_buffers() -> None:
    ids = torch.arange(4)
    a = {"w": torch.tensor([1.0, 2.0]), "ids": ids}
    b = {"w": torch.tensor([3.0, 6.0]), "ids": ids.clone()}
    out = average_weights([a, b])
    assert torch.equal(out["w"], torch.tensor([2.0, 4.0]))
    assert torch.equal(out["ids"], ids)


@pytest.mark.parametrize(
    ("other", "message"),
    [
        ({"w": torch.zeros(2)}, "other weights"),
        ({"w": torch.zeros(3), "ids": torch.arange(4)}, "shape"),
        ({"w": torch.zeros(2), "ids": torch.arange(1, 5)}, "non-float"),
    ],
)
def test_average_refuses_different_networks(other: dict[str, torch.Tensor], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        average_weights([{"w": torch.zeros(2), "ids": torch.arange(4)}, other])


def _fake_run(root: Path, name: str, **config: object) -> Path:
    run = root / name
    run.mkdir()
    settings = {"seed": 13, "epochs": 8, "out_dir": str(run), "shuffle_seed": None, **config}
    (run / "metrics.json").write_text(json.dumps({"config": settings, "final": {}}))
    (run / "validation_tweets.csv").write_text("text,label\nup,positive\n")
    return run


def test_recipe_check_takes_runs_differing_in_shuffle_seed_only(tmp_path: Path) -> None:
    a = _fake_run(tmp_path, "a")
    b = _fake_run(tmp_path, "b", shuffle_seed=14)
    assert len(check_same_recipe([a, b])) == 2
    with pytest.raises(ConfigError, match="epochs"):
        check_same_recipe([a, _fake_run(tmp_path, "c", shuffle_seed=15, epochs=6)])
    with pytest.raises(ConfigError, match="same model"):
        check_same_recipe([b, _fake_run(tmp_path, "d", shuffle_seed=14)])
    e = _fake_run(tmp_path, "e", shuffle_seed=16)
    (e / "validation_tweets.csv").write_text("text,label\ndown,negative\n")
    with pytest.raises(ConfigError, match="held-out split"):
        check_same_recipe([a, e])


@needs_data
def test_soup_of_two_trainings(tmp_path: Path) -> None:
    runs = [train_quick(tmp_path / f"run-{seed}", shuffle_seed=seed) for seed in (None, 14)]
    result = make_soup(runs, tmp_path / "soup")

    heads = [load_file(str(r / "model" / "head.safetensors"))["weight"] for r in runs]
    assert not torch.equal(heads[0], heads[1])  # the shuffle seed made a different run
    soup_head = load_file(str(tmp_path / "soup" / "model" / "head.safetensors"))["weight"]
    torch.testing.assert_close(soup_head, (heads[0] + heads[1]) / 2)
    assert [r["run"] for r in result["soup"]] == [str(r) for r in runs]
    ingredient = json.loads((runs[0] / "metrics.json").read_text())["final"]
    assert result["final"].keys() == ingredient.keys()
    for name, metrics in result["final"].items():
        assert metrics["n"] == ingredient[name]["n"]
    for name in ("metrics.json", "MODEL_CARD.md", "validation_phrasebank.csv"):
        assert (tmp_path / "soup" / name).is_file(), name
    card = (tmp_path / "soup" / "MODEL_CARD.md").read_text()
    assert "a soup of 2 runs" in card
    assert "`training_curves.png` of each run averaged" in card  # a soup has no curves of its own
