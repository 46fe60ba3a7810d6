"""Training curves: the running mean, and a real PNG written."""

from proofsmith.eval.training_curve import running_mean, save_loss_curve


def test_running_mean_over_a_window():
    assert running_mean([4.0, 2.0, 6.0, 0.0], 2) == [4.0, 3.0, 4.0, 3.0]
    assert running_mean([1.0, 3.0], 10) == [1.0, 2.0]


def test_loss_curve_is_a_png(tmp_path):
    path = save_loss_curve([3.0, 2.5, 2.0, 1.2, 0.9], tmp_path / "curve.png", "test")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
