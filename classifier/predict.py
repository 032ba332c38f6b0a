"""Routing one message, with the terms that drove the department choice."""

from __future__ import annotations

from classifier.router import prepare, route_batch


def predict(model, text: str, title: str = "", *, explain: int = 8) -> dict:
    """The routing of one message as a dict: the ``route`` columns plus ``top_terms`` and ``deadline_days``.

    ``top_terms`` lists the n-grams that pushed the department head towards the chosen department (empty for
    models that explain nothing, such as BERT); ``deadline_days`` comes from the department catalogue.
    """
    decided, _ = route_batch(model, [title], [text])
    result = {k: (v.item() if hasattr(v, "item") else v) for k, v in decided.iloc[0].items()}
    result["top_terms"] = []
    result["deadline_days"] = None
    department = result.get("department")
    if result["route_status"] != "ok" or not department:
        return result
    if model.catalogue is not None:
        result["deadline_days"] = model.catalogue.deadline_days(department)
    if department in model.labels.get("department", []):
        doc = prepare([title], [text])[0][0]
        terms = model.model.explain(doc, "department", department, explain)
        result["top_terms"] = [{"term": t, "weight": round(w, 4)} for t, w in terms]
    return result
