"""民生政策一窗通 public pages (no login: search by words and category, one guide printable)
and the monthly figures of the one-stop window (社区业务一站办)."""
from __future__ import annotations

from flask import abort, render_template, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from app.dictionary import label_of
from app.extensions import db
from app.filters import contains
from app.richtext import sanitize
from models.cobuilding.guides import PolicyGuide, window_stats

#: the most guides one public page lists
PUBLIC_GUIDES = 100


class PublicPolicyView(BaseView):
    route_base = "/public"
    default_view = "policies"

    @expose("/policies/")
    def policies(self):
        text = (request.args.get("q") or "").strip()[:50]
        category = (request.args.get("category") or "").strip()[:40]
        stmt = select(PolicyGuide).where(PolicyGuide.published.is_(True))
        if text:
            stmt = stmt.where(or_(contains(PolicyGuide.title, text), contains(PolicyGuide.content, text),
                                  contains(PolicyGuide.materials, text)))
        if category:
            stmt = stmt.where(PolicyGuide.category == category)
        guides = db.session.scalars(stmt.order_by(PolicyGuide.category, PolicyGuide.title).limit(PUBLIC_GUIDES)).all()
        categories = db.session.scalars(select(PolicyGuide.category).where(PolicyGuide.published.is_(True))
                                        .distinct().order_by(PolicyGuide.category)).all()
        return render_template("public/policies.html", guides=guides, text=text, category=category,
                               categories=[(c, label_of("policy_category", c)) for c in categories],
                               label=lambda c: label_of("policy_category", c), app_name=self.appbuilder.app_name)

    @expose("/policy/<int:guide_id>")
    def policy(self, guide_id):
        guide = db.session.scalars(select(PolicyGuide).where(PolicyGuide.id == guide_id,
                                                             PolicyGuide.published.is_(True))).first()
        if guide is None:
            abort(404)
        return render_template("public/policy.html", guide=guide, content=sanitize(guide.content),
                               category=label_of("policy_category", guide.category),
                               app_name=self.appbuilder.app_name)


class WindowStatsView(BaseView):
    route_base = "/window-stats"
    default_view = "index"
    class_permission_name = "WindowService"  # whoever reads the log reads its figures
    method_permission_name = {"index": "read"}

    @expose("/")
    @has_access
    def index(self):
        return self.render_template("guides/window_stats.html", rows=window_stats(),
                                    title=str(_l("One-stop window figures")))


def install(appbuilder) -> None:
    appbuilder.add_view_no_menu(PublicPolicyView)
    appbuilder.add_view(WindowStatsView, "WindowStats", label=_l("One-stop window figures"), icon="fa-bar-chart",
                        category="cobuilding")
