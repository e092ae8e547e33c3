"""Views the registry cannot generate: dashboards, workflow actions, public pages,
and custom subclasses of generated views (registered with ``registry.override``), and the
contexts' command-line commands (registered with ``app.cli.register_command``).

Part of config.DOMAIN: the engine calls :func:`register` once per app at start-up."""
from flask_babel import lazy_gettext as _l

# overrides register on import
from views.cobuilding import assessments, guides, meetings, stations  # noqa: F401
from views.cobuilding import commands as _cobuilding_commands  # noqa: F401
from views.cobuilding import pledges as cobuilding  # noqa: F401
from views.kernel import organisations  # noqa: F401
from views.kernel.sensitive import SensitiveDataApi, SensitiveDataView
from views.people import care  # noqa: F401
from views.people.care import OverdueView
from views.people.public import PublicNoticeView
from views.reporting import dashboard, home  # noqa: F401
from views.service import demands as service, open311, rates, visits  # noqa: F401
from views.service import commands as _service_commands  # noqa: F401
from views.volunteers import activities as volunteers, bulletins, honours  # noqa: F401

#: the bounded contexts, each a package of views with its own templates/ folder
CONTEXTS = ("kernel", "people", "service", "volunteers", "cobuilding", "reporting")


def register(appbuilder) -> None:
    """Add the views that are not generated from an entity, and each context's templates."""
    from flask import Blueprint, current_app

    for context in CONTEXTS:  # a blueprint without routes: its templates/ joins the search path
        current_app.register_blueprint(
            Blueprint(f"{context}_templates", f"views.{context}", template_folder="templates"))

    appbuilder.add_view(OverdueView, "OverdueList", label=_l("Overdue visits"), icon="fa-bell",
                        category="care")
    appbuilder.add_view_no_menu(SensitiveDataView)
    appbuilder.add_api(SensitiveDataApi)
    appbuilder.add_view_no_menu(PublicNoticeView)
    appbuilder.add_view_no_menu(honours.PublicStarsView)
    appbuilder.add_view_no_menu(cobuilding.PublicCobuildingView)
    appbuilder.add_view_no_menu(stations.PublicCardView)

    service.install(appbuilder)
    rates.install(appbuilder)
    bulletins.install(appbuilder)
    guides.install(appbuilder)
    dashboard.install(appbuilder)
    appbuilder.add_link("AssessmentRanking", href="/assessment/ranking/", label=_l("Assessment ranking"),
                        icon="fa-sort-amount-desc", category="cobuilding")
    open311.install(appbuilder)
