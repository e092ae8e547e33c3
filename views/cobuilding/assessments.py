"""考核激励 pages: an assessment's page with its score sheet (all items at once), and the
ranking of a template's period."""
from __future__ import annotations

from flask import flash, request
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext
from sqlalchemy import select

from app import scope
from app.api import bounded_int
from app.crud import attempt, WithExtras
from app.extensions import db
from app.registry import generated_view, override
from models.cobuilding import assessments
from models.cobuilding.assessments import Assessment, AssessmentTemplate
from app.crud import can as _can

_Generated = generated_view(Assessment)


@override(Assessment)
class AssessmentView(WithExtras, _Generated):
    show_template = "assessments/assessment.html"
    method_permission_name = {**_Generated.method_permission_name, "score": "write", "ranking": "read"}

    def extras(self, item) -> dict:
        given = {s.item_id: s.score for s in item.scores}
        return {"assessment": item, "items": list(item.template.items), "given": given,
                "may_score": _can("can_write", "Assessment"),
                "ranked": assessments.ranking(item.template, item.period)}

    @expose("/score/<int:pk>", methods=["POST"])
    @has_access
    def score(self, pk):
        item = self._visible(pk)
        scores = {i.id: request.form.get(f"item-{i.id}") for i in item.template.items}
        with attempt() as outcome:
            assessments.record_scores(item, scores, scope.acting_user())
        if outcome.ok:
            flash(gettext("Scores saved: the total is %(n)s.", n=item.total), "success")
        return self._back(pk)

    @expose("/ranking/")
    @has_access
    def ranking(self):
        templates = db.session.scalars(scope.apply(select(AssessmentTemplate), AssessmentTemplate)
                                       .order_by(AssessmentTemplate.name)).all()
        template_id = bounded_int(request.args.get("template"), low=1)
        template = next((t for t in templates if t.id == template_id), templates[0] if templates else None)
        periods = db.session.scalars(select(Assessment.period).where(Assessment.template_id == template.id)
                                     .distinct().order_by(Assessment.period.desc())).all() if template else []
        period = request.args.get("period") if request.args.get("period") in periods else \
            (periods[0] if periods else None)
        ranked = assessments.ranking(template, period) if template and period else []
        return self.render_template("assessments/ranking.html", templates=templates, chosen=template,
                                    periods=periods, period=period, ranked=ranked,
                                    title=gettext("Assessment ranking"))
