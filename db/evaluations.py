"""验收评估: the acceptance check a federation makes of a finished project."""
from __future__ import annotations

import datetime as dt

from . import audit
from .errors import XfjyError
from .jurisdiction import covers, require_write
from .models import Evaluation, Level, Project, Role
from .workflow import EVALUABLE_STATES


def record_evaluation(project: Project, *, result: str, evaluated_on: dt.date, unit: str = "", evaluator: str = "",
                      score: int | None = None, notes: str = "", actor=None) -> Evaluation:
    """Evaluations are made by a federation (旗县市区 and above) over the project's area."""
    require_write(actor)
    check_evaluation(project, result, score, actor)
    evaluation = Evaluation.create(project=project, result=result, evaluated_on=evaluated_on,
                                   unit=unit or getattr(actor, "unit", ""), evaluator=evaluator or str(actor or ""),
                                   score=score, notes=notes)
    audit.record(actor, "create", evaluation, summary=f"{project.name}验收评估：{Evaluation.RESULTS[result]}")
    return evaluation


def check_evaluation(project: Project, result: str, score: int | None, actor) -> None:
    """What any evaluation must satisfy, from the grid or from code."""
    require_write(actor)
    if actor is not None and (actor.role == Role.ADMIN or actor.level > Level.COUNTY
                              or not covers(actor, project.village.area)):
        raise XfjyError("验收评估由旗县市区及以上慈善总会办理")
    if project.state not in EVALUABLE_STATES:
        raise XfjyError("项目进入验收阶段后才能评估")
    if result not in Evaluation.RESULTS:
        raise XfjyError(f"评估结果应为 {'、'.join(Evaluation.RESULTS.values())} 之一")
    if score is not None and not 0 <= score <= 100:
        raise XfjyError("评分应在 0 到 100 之间")
