"""The engine's Tracked tables link to the user model the domain registered, whatever the
order in which the engine's modules are imported (FAB configures the mappers early)."""
from app import scope
from app.dictionary import DictItem


def test_a_tracked_engine_table_links_to_the_registered_user_model(app):
    for key in ("created_by", "updated_by"):
        assert getattr(DictItem, key).property.mapper.class_ is scope.user_model()
