"""Request and response bodies of the HTTP service; every field is described for the OpenAPI page (``/docs``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Message(BaseModel):
    """One citizen message to route."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(
        description="The message's id in the calling system; returned with its routing and written to the access log."
    )
    title: str = Field("", description="Message title (留言主题); may be empty.")
    text: str | None = Field(
        None,
        description="Message text (留言详情). A missing or empty text does not fail the request: that message comes "
        "back with `route_status` `error: missing text` / `error: empty text`.",
    )
    time: str | None = Field(
        None, description="When the message was received, in any format; returned as given, not used for routing."
    )
    channel: str | None = Field(
        None,
        description="Channel the message came through (hotline, web form …); returned as given, not used for routing.",
    )


class Routing(BaseModel):
    """The routing columns of the ``route`` command, for one message (null where a column has no value)."""

    model_config = ConfigDict(
        extra="allow", json_schema_extra={"additionalProperties": {"type": ["string", "number", "null"]}}
    )

    screening: str | None = Field(
        None, description="Screening category: 政务服务, 信访事项, 舆论监督, 纪检监察 or 无效; null on an error row."
    )
    screening_confidence: float | None = Field(None, description="Probability of the screening category (0–1).")
    department: str | None = Field(
        None, description="Responsible department (one of the model's department labels); null for 无效 and error rows."
    )
    department_confidence: float | None = Field(
        None, description="Confidence of the department decision, after the consistency rules (0–1)."
    )
    department_top3: str | None = Field(
        None, description="`部门:概率|部门:概率|部门:概率`: the chosen department, then the two most probable others."
    )
    topic: str | None = Field(None, description="First-level topic of the provincial taxonomy.")
    topic_confidence: float | None = Field(None, description="Probability of the topic (0–1).")
    needs_review: bool = Field(
        description="True when a person should check this routing: low confidence, rule-made 无效, or an error row."
    )
    route_status: str = Field(
        description="`ok`, or `error: <reason>` for a message that could not be routed (empty text …)."
    )
    model_version: str = Field(description="Version of the model that routed the message.")
    urgent: str | None = Field(
        None,
        description="Urgency (是/否) for a model with an `urgent` head; any other head adds `<head>` and "
        "`<head>_confidence` the same way.",
    )
    urgent_confidence: float | None = Field(None, description="Probability of the urgency label (0–1).")


class RoutedMessage(Routing):
    """One message as sent (title and text masked when the service masks personal data) with its routing."""

    id: str = Field(description="The message's id, as sent.")
    title: str = Field(description="The title, as sent or with personal data masked (`[手机号]`, `[姓名]` …).")
    text: str | None = Field(description="The text, as sent or with personal data masked.")
    time: str | None = Field(description="As sent.")
    channel: str | None = Field(description="As sent.")


class PredictRequest(BaseModel):
    """One message to route and explain."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(None, description="Optional id, written to the access log.")
    title: str = Field("", description="Message title; may be empty.")
    text: str = Field(description="Message text.")


class Term(BaseModel):
    """An n-gram of the message and how much it pushed the department head towards the chosen department."""

    term: str = Field(description="The word or character n-gram.")
    weight: float = Field(description="Its contribution to the department's score (positive: towards the department).")


class Prediction(Routing):
    """The routing of one message with the terms behind the department choice."""

    title: str = Field(description="The title, as sent or with personal data masked.")
    text: str = Field(description="The text, as sent or with personal data masked.")
    top_terms: list[Term] = Field(
        description="Terms that pushed the department head towards the chosen department (linear and ensemble models)."
    )
    danger_terms: list[str] = Field(
        description="Phrases of the danger lexicon the message names (they make `urgent` 是, for a model with that head).",
    )
    deadline_days: int | None = Field(
        description="Handling deadline of the department in working days, from the model's department catalogue."
    )


class Health(BaseModel):
    status: str = Field(description="`ok` while the process serves requests.")


class Ready(BaseModel):
    ready: bool = Field(description="True when a model is loaded and messages can be routed.")
    model_version: str | None = Field(description="Version of the loaded model.")


class ModelInfo(BaseModel):
    """What the loaded model is, from its ``metadata.json``."""

    version: str = Field(description="Model version (folder name, date and a checksum fingerprint).")
    model_type: str = Field(description="linear, bert or ensemble.")
    created: str | None = Field(description="When the model was trained (ISO 8601, UTC).")
    heads: list[str] = Field(
        description="The model's heads (label columns), e.g. screening, department, topic, urgent."
    )
    labels: dict[str, list[str]] = Field(description="Sorted labels of each head.")
    thresholds: dict[str, float | dict[str, float]] = Field(
        description="Review thresholds of each head: one number, or one per predicted label (key \"\" for labels "
        "without one of their own); a confidence under its threshold sets needs_review."
    )
    metrics: dict = Field(
        description="Validation metrics of each head recorded at training time (accuracy, macro_f1, top3_accuracy …)."
    )
    catalogue: str | None = Field(
        description="The department catalogue file the service routes with (`--catalogue`, read again at every "
        "reload); null: the model's own catalogue."
    )


class ReloadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(
        None, description="Model folder to load; by default the folder the service was started with (read again)."
    )


class Reloaded(BaseModel):
    status: str = Field(
        description="`ok`: the new model is serving (other worker processes are being restarted with it)."
    )
    model_version: str = Field(description="Version of the model now loaded.")
    previous_version: str = Field(description="Version of the model it replaced.")
    workers_restarting: bool = Field(
        description="True when other worker processes are being replaced, one at a time, to load it too."
    )


class Error(BaseModel):
    """Body of every error response."""

    error: str = Field(description="What was wrong, in one sentence.")
    detail: list | None = Field(
        None, description="For 422: one entry per invalid field (`loc` names it, `msg` says why)."
    )
    model_version: str | None = Field(None, description="For a failed reload: the version of the model still serving.")
