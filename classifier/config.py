"""Training configuration: one typed dataclass, checked on creation and copied into the model artifact."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

MODEL_KINDS = ("linear", "bert", "ensemble")


@dataclass
class TrainConfig:
    """Every setting of ``train``; ``asdict(config)`` is stored in ``metadata.json``."""

    model: str = field(default="linear", metadata={"help": "linear, bert or ensemble"})
    label_cols: list[str] = field(default_factory=list, metadata={"help": "heads to train; empty = standard heads found"})
    text_col: str | None = field(default=None, metadata={"help": "text column of the training file(s)"})
    title_col: str | None = field(default=None, metadata={"help": "title column of the training file(s)"})
    validation_fraction: float = field(default=0.2, metadata={"help": "share of rows held out for metrics/thresholds"})
    seed: int = 13
    review_precision: float = field(default=0.9, metadata={"help": "target precision of auto-routed rows per head"})
    refit_full: bool = field(default=True, metadata={"help": "refit on all rows after validation"})
    # linear model
    tokenizer: str = "rjieba"
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (1, 2)
    min_df: int = 2
    max_word_features: int = 100_000
    max_char_features: int = 100_000
    C: float = 0.5
    class_weight: str | None = "balanced"
    calibration_folds: int = 3
    imbalance_share: float = field(default=0.5, metadata={"help": "majority share above which a head tunes offsets"})
    keyword_weight: float | None = field(default=None, metadata={"help": "catalogue keyword boost; None = tune"})
    # transformer model
    base_model: str | None = field(default=None, metadata={"help": "Hugging Face id or local checkpoint folder"})
    max_length: int = 256
    epochs: int = 4
    batch_size: int = 32
    gradient_accumulation: int = 1
    learning_rate: float = 3e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    patience: int = 2
    precision: str = field(default="auto", metadata={"help": "auto, bf16, fp16 or fp32"})
    device: str = field(default="auto", metadata={"help": "auto, cpu or cuda"})
    # ensemble
    linear_model: str | None = field(default=None, metadata={"help": "trained linear artifact to ensemble"})
    bert_model: str | None = field(default=None, metadata={"help": "trained BERT artifact to ensemble"})

    def __post_init__(self) -> None:
        if self.model not in MODEL_KINDS:
            raise ValueError(f"model must be one of {', '.join(MODEL_KINDS)}, got {self.model!r}.")
        if not 0 < self.validation_fraction < 0.9:
            raise ValueError(f"validation_fraction must be in (0, 0.9), got {self.validation_fraction}.")
        if not 0 < self.review_precision <= 1:
            raise ValueError(f"review_precision must be in (0, 1], got {self.review_precision}.")
        if self.C <= 0:
            raise ValueError(f"C must be positive, got {self.C}.")
        if self.class_weight not in (None, "balanced"):
            raise ValueError(f"class_weight must be None or 'balanced', got {self.class_weight!r}.")
        if self.tokenizer not in ("rjieba", "jieba"):
            raise ValueError(f"tokenizer must be 'rjieba' or 'jieba', got {self.tokenizer!r}.")
        if self.precision not in ("auto", "bf16", "fp16", "fp32"):
            raise ValueError(f"precision must be auto, bf16, fp16 or fp32, got {self.precision!r}.")
        if self.model == "bert" and not self.base_model:
            raise ValueError("A BERT model needs base_model: a Hugging Face id or a local checkpoint folder.")
        if self.model == "ensemble" and not (self.linear_model and self.bert_model):
            raise ValueError("An ensemble needs linear_model and bert_model: two trained artifact folders.")
        if self.max_length < 16:
            raise ValueError(f"max_length must be at least 16, got {self.max_length}.")
        for name in ("epochs", "batch_size", "gradient_accumulation", "min_df", "patience"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}.")
        if self.calibration_folds < 2:
            raise ValueError(f"calibration_folds must be at least 2, got {self.calibration_folds}.")
        if not 0 < self.imbalance_share <= 1:
            raise ValueError(f"imbalance_share must be in (0, 1], got {self.imbalance_share}.")
        if self.keyword_weight is not None and self.keyword_weight < 0:
            raise ValueError(f"keyword_weight must be >= 0 or None (tuned), got {self.keyword_weight}.")
        if self.learning_rate <= 0 or not 0 <= self.warmup_ratio < 1:
            raise ValueError("learning_rate must be positive and warmup_ratio in [0, 1).")
        self.word_ngrams = tuple(self.word_ngrams)
        self.char_ngrams = tuple(self.char_ngrams)
        self.label_cols = list(self.label_cols)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})
