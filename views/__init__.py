"""Views the registry cannot generate: dashboards, workflow actions, public pages,
and custom subclasses of generated views (registered with ``registry.override``)."""
from flask_babel import lazy_gettext as _l

# overrides register on import
from views import (assessments, bulletins, care, cobuilding, dashboard, guides, home, honours,  # noqa: F401
                   meetings, organisations, service, stations, volunteers)


def register(appbuilder) -> None:
    """Add the views that are not generated from an entity."""
    from views.care import OverdueView
    from views.public import PublicNoticeView
    from views.sensitive import SensitiveDataApi, SensitiveDataView

    appbuilder.add_view(OverdueView, "OverdueList", label=_l("Overdue visits"), icon="fa-bell",
                        category="care")
    appbuilder.add_view_no_menu(SensitiveDataView)
    appbuilder.add_api(SensitiveDataApi)
    appbuilder.add_view_no_menu(PublicNoticeView)
    appbuilder.add_view_no_menu(honours.PublicStarsView)
    appbuilder.add_view_no_menu(cobuilding.PublicCobuildingView)
    appbuilder.add_view_no_menu(stations.PublicCardView)

    from views import open311, rates

    service.install(appbuilder)
    rates.install(appbuilder)
    bulletins.install(appbuilder)
    guides.install(appbuilder)
    dashboard.install(appbuilder)
    appbuilder.add_link("AssessmentRanking", href="/assessment/ranking/", label=_l("Assessment ranking"),
                        icon="fa-sort-amount-desc", category="cobuilding")
    open311.install(appbuilder)
