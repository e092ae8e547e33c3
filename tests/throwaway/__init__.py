"""A domain that is not the product's: used by tests/test_throwaway.py to show the engine
(app/) serves a model it has never seen, with no module of models/, views/ or seed/."""
