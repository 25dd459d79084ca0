"""One rule for progress towards a goal, wherever a percentage is shown."""


def goal_percent(count: int, goal: int | None) -> int | None:
    """Whole percent of the goal reached, rounded down and capped at 100 (so 995 of 1,000
    reads 99 %: a goal shows as reached only once it is); None without a goal."""
    if not goal or goal <= 0:
        return None
    return max(0, min(100, (100 * count) // goal))
