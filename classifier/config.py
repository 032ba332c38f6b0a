"""Training configuration: one typed dataclass, checked on creation and copied into the model artifact.

It is the one source of every training option and its default: the ``train`` command builds its options from
these fields (``help`` in Chinese and English, ``flag`` where the option name is not the field name).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from classifier.errors import ConfigError
from classifier.i18n import tr
from classifier.models import MODEL_KINDS


def option(default=None, zh: str = "", en: str = "", *, flag: str | None = None, factory=None):
    """A config field with its command-line help; ``factory`` for mutable defaults."""
    metadata = {"help": (zh, en), "flag": flag}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class TrainConfig:
    """Every setting of ``train``; ``to_dict()`` is stored in ``metadata.json``."""

    model: str = option("linear", "模型类型：linear、bert 或 ensemble", "linear, bert or ensemble")
    label_cols: list[str] = option(
        zh="要训练的标签列（可重复）；不填则使用数据中的标准列", en="label column to train (repeatable); default: the standard heads found",
        flag="--label-col", factory=list,
    )  # fmt: skip
    text_col: str | None = option(None, "训练文件的正文列", "text column of the training file(s)")
    title_col: str | None = option(None, "训练文件的标题列", "title column of the training file(s)")
    validation_fraction: float = option(0.2, "留作验证（指标与阈值）的行比例", "share of rows held out for metrics and thresholds")
    seed: int = option(13, "随机种子", "random seed")
    review_precision: float = option(0.95, "自动分派行的目标准确率（低于阈值的交人工复核）", "target precision of automatically routed rows")
    urgent_recall: float = option(0.92, "紧急（是）阈值所瞄准的召回率（留出 0.02 余量，使新留言上的召回率不低于 0.9）",
                                  "recall of urgent = 是 the threshold aims at (0.02 above the 0.9 wanted on new messages)")
    refit_full: bool = option(True, "验证后在全部行上重新训练", "refit on all rows after validation")
    # linear model
    tokenizer: str = option("rjieba", "分词器：rjieba 或 jieba", "tokenizer: rjieba or jieba")
    word_ngrams: tuple[int, int] = option((1, 2), "词 n-gram 范围", "word n-gram range")
    char_ngrams: tuple[int, int] = option((1, 2), "字 n-gram 范围", "character n-gram range")
    min_df: int = option(2, "特征的最小文档频数", "minimum document frequency of a feature")
    max_word_features: int = option(100_000, "词特征上限", "maximum word features")
    max_char_features: int = option(100_000, "字特征上限", "maximum character features")
    C: float = option(0.5, "线性 SVM 的正则参数 C", "C of the linear SVM", flag="--svm-c")
    class_weight: str | None = option("balanced", "类别权重：balanced 或不填", "class weights: balanced or none")
    calibration_folds: int = option(3, "校准用的交叉验证折数", "cross-validation folds for calibration")
    imbalance_share: float = option(0.5, "多数类占比超过此值时调节各类偏置", "majority share above which a head tunes offsets")
    keyword_weight: float | None = option(None, "目录关键词加权；不填则在验证集上选择", "catalogue keyword boost; default: tuned")
    cue_weight: float | None = option(None, "筛查线索词加权；不填则在验证集上选择", "screening cue boost; default: tuned")
    title_examples: bool = option(True, "把有正文的留言标题另作训练样本（让一句话工单也能分派）", "add the titles of messages with a text as training rows of their own (for one-line tickets)")
    catalogue_weight: float | None = option(None, "与部门职责文本相似度的加权；不填则在验证集上选择", "boost by similarity to the departments' responsibility text; default: tuned")
    # transformer model
    base_model: str | None = option(None, "BERT：Hugging Face 名称或本地模型目录", "BERT: Hugging Face id or local checkpoint folder")
    max_length: int = option(256, "BERT：每条留言的最大 token 数", "BERT: tokens per message")
    epochs: int = option(4, "BERT：训练轮数", "BERT: training epochs")
    batch_size: int = option(32, "BERT：批大小", "BERT: batch size")
    gradient_accumulation: int = option(1, "BERT：每次更新累积的步数", "BERT: steps per update")
    learning_rate: float = option(3e-5, "BERT：峰值学习率", "BERT: peak learning rate")
    weight_decay: float = option(0.01, "BERT：权重衰减", "BERT: weight decay")
    warmup_ratio: float = option(0.1, "BERT：预热步数比例", "BERT: share of warm-up steps")
    patience: int = option(2, "BERT：验证指标不再提升多少轮后停止", "BERT: epochs without gain before stopping")
    precision: str = option("auto", "BERT：auto、bf16、fp16 或 fp32", "BERT: auto, bf16, fp16 or fp32")
    device: str = option("auto", "BERT：auto、cpu 或 cuda", "BERT: auto, cpu or cuda")
    # ensemble
    linear_model: str | None = option(None, "集成：已训练的线性模型目录", "ensemble: trained linear model folder")
    bert_model: str | None = option(None, "集成：已训练的 BERT 模型目录", "ensemble: trained BERT model folder")

    def __post_init__(self) -> None:
        self.word_ngrams = tuple(self.word_ngrams)
        self.char_ngrams = tuple(self.char_ngrams)
        self.label_cols = list(self.label_cols)
        for problem in self._problems():
            raise ConfigError(problem)

    def _problems(self):
        if self.model not in MODEL_KINDS:
            yield tr(f"model 应为 {'、'.join(MODEL_KINDS)} 之一，收到 {self.model!r}。",
                     f"model must be one of {', '.join(MODEL_KINDS)}, got {self.model!r}.")
        if not 0 < self.validation_fraction < 0.9:
            yield tr(f"validation_fraction 应在 (0, 0.9) 之间，收到 {self.validation_fraction}。",
                     f"validation_fraction must be in (0, 0.9), got {self.validation_fraction}.")
        for name in ("review_precision", "urgent_recall"):
            if not 0 < getattr(self, name) <= 1:
                yield tr(f"{name} 应在 (0, 1] 之间，收到 {getattr(self, name)}。",
                         f"{name} must be in (0, 1], got {getattr(self, name)}.")
        if self.C <= 0:
            yield tr(f"C 应为正数，收到 {self.C}。", f"C must be positive, got {self.C}.")
        if self.class_weight not in (None, "balanced"):
            yield tr(f"class_weight 应为 None 或 'balanced'，收到 {self.class_weight!r}。",
                     f"class_weight must be None or 'balanced', got {self.class_weight!r}.")
        if self.tokenizer not in ("rjieba", "jieba"):
            yield tr(f"tokenizer 应为 'rjieba' 或 'jieba'，收到 {self.tokenizer!r}。",
                     f"tokenizer must be 'rjieba' or 'jieba', got {self.tokenizer!r}.")
        for name in ("word_ngrams", "char_ngrams"):
            low, high = getattr(self, name)
            if not 1 <= low <= high:
                yield tr(f"{name} 应满足 1 <= low <= high，收到 {getattr(self, name)}。",
                         f"{name} must satisfy 1 <= low <= high, got {getattr(self, name)}.")
        if self.precision not in ("auto", "bf16", "fp16", "fp32"):
            yield tr(f"precision 应为 auto、bf16、fp16 或 fp32，收到 {self.precision!r}。",
                     f"precision must be auto, bf16, fp16 or fp32, got {self.precision!r}.")
        if self.device not in ("auto", "cpu", "cuda"):
            yield tr(f"device 应为 auto、cpu 或 cuda，收到 {self.device!r}。",
                     f"device must be auto, cpu or cuda, got {self.device!r}.")
        if self.model == "bert" and not self.base_model:
            yield tr("BERT 模型需要 base_model：Hugging Face 模型名或本地检查点目录（--base-model）。",
                     "A BERT model needs base_model: a Hugging Face id or a local checkpoint folder (--base-model).")
        if self.model == "ensemble" and not (self.linear_model and self.bert_model):
            yield tr("集成模型需要 linear_model 和 bert_model：两个已训练的模型目录（--linear-model、--bert-model）。",
                     "An ensemble needs linear_model and bert_model: two trained model folders (--linear-model, --bert-model).")
        if self.max_length < 16:
            yield tr(f"max_length 至少为 16，收到 {self.max_length}。", f"max_length must be at least 16, got {self.max_length}.")
        for name in ("epochs", "batch_size", "gradient_accumulation", "min_df", "patience"):
            if getattr(self, name) < 1:
                yield tr(f"{name} 至少为 1，收到 {getattr(self, name)}。", f"{name} must be at least 1, got {getattr(self, name)}.")
        if self.calibration_folds < 2:
            yield tr(f"calibration_folds 至少为 2，收到 {self.calibration_folds}。",
                     f"calibration_folds must be at least 2, got {self.calibration_folds}.")
        if not 0 < self.imbalance_share <= 1:
            yield tr(f"imbalance_share 应在 (0, 1] 之间，收到 {self.imbalance_share}。",
                     f"imbalance_share must be in (0, 1], got {self.imbalance_share}.")
        for name in ("keyword_weight", "cue_weight", "catalogue_weight"):
            if getattr(self, name) is not None and getattr(self, name) < 0:
                yield tr(f"{name} 应 >= 0，或为 None（自动调优），收到 {getattr(self, name)}。",
                         f"{name} must be >= 0 or None (tuned), got {getattr(self, name)}.")
        if self.learning_rate <= 0 or not 0 <= self.warmup_ratio < 1:
            yield tr("learning_rate 应为正数，warmup_ratio 应在 [0, 1) 之间。",
                     "learning_rate must be positive and warmup_ratio in [0, 1).")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> TrainConfig:
        """The config stored by ``to_dict``; an unknown key is an error that names it."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(tr(
                f"未知的训练设置 {unknown}：应为 {sorted(known)} 中的名称（模型是较新版本的 complaint-router 保存的？请升级）。",
                f"Unknown training setting(s) {unknown}: expected names among {sorted(known)} "
                "(a model saved by a newer complaint-router? upgrade it).",
            ))
        return cls(**raw)
