"""Routing one message, with the terms that drove the department choice."""

from __future__ import annotations

from classifier.router import URGENT, danger_counter, prepare, route_prepared


def predict(model, text: str, title: str = "", *, explain: int = 8) -> dict:
    """The routing of one message as a dict: the ``route`` columns plus ``top_terms``, ``danger_terms`` and
    ``deadline_days``.

    ``top_terms`` lists the n-grams that pushed the department head towards the chosen department (empty for
    models that explain nothing, such as BERT); ``danger_terms`` the phrases of the danger lexicon the message
    names (they make it urgent, for a model with an ``urgent`` rule); ``deadline_days`` comes from the department
    catalogue.
    """
    docs, reasons = prepare([title], [text])
    decided, _ = route_prepared(model, docs, reasons)
    result = {k: (v.item() if hasattr(v, "item") else v) for k, v in decided.iloc[0].items()}
    result["top_terms"] = []
    result["danger_terms"] = []
    result["deadline_days"] = None
    if result["route_status"] != "ok":
        return result
    doc = docs[0]
    if URGENT in model.labels and model.rules.get(URGENT):  # the lexicon is part of the urgent rule
        counter = danger_counter()
        result["danger_terms"] = [p for p, n in zip(counter.phrases, counter.counts([doc])[0]) if n]
    department = result.get("department")
    if not department:
        return result
    if model.catalogue is not None:
        result["deadline_days"] = model.catalogue.deadline_days(department)
    if department in model.labels.get("department", []):
        terms = model.model.explain(doc, "department", department, explain)
        result["top_terms"] = [{"term": t, "weight": round(w, 4)} for t, w in terms]
    return result
