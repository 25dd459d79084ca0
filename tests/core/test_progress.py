from core.progress import goal_percent


def test_goal_percent_rounds_down_so_a_goal_reads_reached_only_once_it_is() -> None:
    assert goal_percent(995, 1000) == 99
    assert goal_percent(1000, 1000) == 100
    assert goal_percent(3, 1000) == 0


def test_goal_percent_is_capped_and_absent_without_a_goal() -> None:
    assert goal_percent(5000, 1000) == 100
    assert goal_percent(10, None) is None
    assert goal_percent(10, 0) is None
