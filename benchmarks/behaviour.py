"""Per-class results of a model on the behavioural suite of one-line tickets (tests/behaviour/tickets.csv).

    python benchmarks/behaviour.py [--model DIR] [--tickets FILE] [--errors]

Prints, per department (the first acceptable department of each ticket) n, correct and accuracy; per screening
category n, correct, recall, predicted and precision; department and screening accuracy per script and per kind
of ticket; with ``--errors``, every ticket the model gets wrong. Default model: the shipped one.

Targets (issue 8): department >= 0.90, screening >= 0.95, 纪检监察 and 无效 recall >= 0.95 each.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from classifier.artifact import default_model_path, load_model
from classifier.behaviour import class_results, read_tickets, route_tickets

SUITE = Path(__file__).resolve().parent.parent / "tests" / "behaviour" / "tickets.csv"


def fraction(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    parser.add_argument("--tickets", default=str(SUITE))
    parser.add_argument("--errors", action="store_true", help="list the tickets the model gets wrong")
    args = parser.parse_args()
    model = load_model(args.model or default_model_path())
    routed = route_tickets(model, read_tickets(args.tickets))
    results = class_results(routed)
    overall = results["overall"]
    print(f"model {model.version}: {overall['n']} tickets, department accuracy {overall['department_accuracy']:.3f} "
          f"(target 0.90), screening accuracy {overall['screening_accuracy']:.3f} (target 0.95); "
          f"{overall['wrong']} tickets wrong, {fraction(overall['wrong_flagged'])} of them flagged for review")  # fmt: skip
    print(f"\n{'department':<14}{'n':>4}{'correct':>9}{'accuracy':>10}")
    for name, r in sorted(results["department"].items(), key=lambda item: (item[1]["accuracy"], item[0])):
        print(f"{name:<14}{r['n']:>4}{r['correct']:>9}{fraction(r['accuracy']):>10}")
    print(f"\n{'screening':<10}{'n':>4}{'correct':>9}{'recall':>8}{'predicted':>11}{'precision':>11}")
    for name, r in results["screening"].items():
        print(f"{name:<10}{r['n']:>4}{r['correct']:>9}{fraction(r['recall']):>8}{r['predicted']:>11}{fraction(r['precision']):>11}")
    for group in ("script", "kind"):
        print(f"\n{group:<14}{'n':>4}{'department':>12}{'screening':>11}")
        for name, r in results[group].items():
            print(f"{name:<14}{r['n']:>4}{fraction(r['department_accuracy']):>12}{fraction(r['screening_accuracy']):>11}")
    if args.errors:
        wrong = routed[~(routed["department_ok"] & routed["screening_ok"])]
        print(f"\n{len(wrong)} tickets wrong (id, expected screening/departments, got screening/department confidence):")
        for row in wrong.itertuples():
            print(f"{row.id} {row.text} | {row.screening} {row.departments} | {row.predicted_screening} "
                  f"{row.predicted_department} {row.department_confidence if row.department_confidence == row.department_confidence else row.screening_confidence}")  # fmt: skip


if __name__ == "__main__":
    main()
