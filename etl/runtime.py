"""Device set-up for the models: which device, GPU memory growth, mixed precision, XLA.

`configure(settings.runtime)` is called once per process, before any model is built (TensorFlow
fixes the GPU set-up at its first op, and the Keras precision policy applies to layers built after
it). It returns a `RuntimeInfo` saying what was chosen, for the run report:

    info = configure(settings.runtime)
    relation_batch = batch_size(settings.runtime, "relation", info.device)

Rules:
- device `auto` picks the GPU when TensorFlow lists one, else the CPU; `gpu` with no GPU visible is
  a `ConfigError` (a production run silently 50x slower on the CPU is worse than a clear stop);
  `cpu` hides the GPUs from TensorFlow.
- mixed precision (`mixed_float16`) only on the GPU: never on the CPU, where reduced-precision
  compute is 3-4x slower on these machines (STACK.md).
- XLA auto-clustering through `tf.config.optimizer.set_jit`.

TensorFlow is reached through a small `Backend` so the GPU branches can be tested on machines
without a GPU (tests pass a fake one); the real one imports TensorFlow via etl.compat.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

from etl.config import RuntimeSettings
from etl.errors import ConfigError
from etl.models import registry

log = logging.getLogger(__name__)

MODELS = tuple(kind for kind, spec in registry.MODELS.items() if spec.batched)  # relation, spans, assertion
MIXED_POLICY = "mixed_float16"  # bert4keras 0.11.5 masks with tf.where(-inf): float16-safe


@dataclass
class RuntimeInfo:
    """What `configure` chose: goes into the run report as is (`as_dict`)."""
    requested: str  # the runtime.device setting
    device: str  # "gpu" or "cpu": where the models run
    gpus: list[str] = field(default_factory=list)  # GPUs TensorFlow listed (before hiding any)
    memory_growth: bool = False  # applied to every visible GPU
    precision: str = "float32"  # the Keras policy in force
    xla: bool = False
    tensorflow: str = ""
    notes: list[str] = field(default_factory=list)  # settings that were not applied, and why

    def as_dict(self) -> dict:
        return asdict(self)


class Backend:
    """The few TensorFlow calls `configure` makes (a fake stands in for it in tests)."""

    def __init__(self):
        from etl.compat import K, tf  # noqa: F401  (environment first, then TensorFlow)

        self.tf = tf

    @property
    def version(self) -> str:
        return self.tf.__version__

    def list_gpus(self) -> list:
        return list(self.tf.config.list_physical_devices("GPU"))

    def gpu_name(self, gpu) -> str:
        return getattr(gpu, "name", str(gpu))

    def hide_gpus(self) -> None:
        self.tf.config.set_visible_devices([], "GPU")

    def set_memory_growth(self, gpu) -> None:
        self.tf.config.experimental.set_memory_growth(gpu, True)

    def set_precision(self, policy: str) -> None:
        from etl.compat import keras

        keras.mixed_precision.set_global_policy(policy)

    def precision(self) -> str:
        from etl.compat import keras

        return keras.mixed_precision.global_policy().name

    def set_jit(self, enabled: bool) -> None:
        self.tf.config.optimizer.set_jit(enabled)


def configure(runtime: RuntimeSettings, backend: Backend | None = None) -> RuntimeInfo:
    """Apply the runtime settings to this process's TensorFlow; see the module docstring."""
    backend = backend or Backend()
    gpus = backend.list_gpus()
    info = RuntimeInfo(requested=runtime.device, device="cpu",
                       gpus=[backend.gpu_name(g) for g in gpus], tensorflow=backend.version)

    if runtime.device == "gpu" and not gpus:
        raise ConfigError(
            "runtime.device = gpu, but TensorFlow sees no GPU (check `nvidia-smi`, the NVIDIA "
            "container runtime and that tensorflow[and-cuda] is installed; `etl doctor` shows what "
            "TensorFlow sees), or set runtime.device = auto / cpu (ETL_RUNTIME_DEVICE)")
    use_gpu = bool(gpus) and runtime.device in ("auto", "gpu")
    info.device = "gpu" if use_gpu else "cpu"

    # GPU set-up must happen before TensorFlow initialises the devices (its first op); after that
    # TensorFlow raises RuntimeError, which is reported rather than fatal.
    try:
        if gpus and not use_gpu:
            backend.hide_gpus()
            info.notes.append("GPUs hidden: runtime.device = cpu")
        elif use_gpu and runtime.memory_growth:
            for gpu in gpus:
                backend.set_memory_growth(gpu)
            info.memory_growth = True
    except RuntimeError as error:
        info.notes.append(f"GPU set-up not applied (TensorFlow already initialised): {error}")
        log.warning("runtime: %s", info.notes[-1])

    if runtime.mixed_precision and use_gpu:
        backend.set_precision(MIXED_POLICY)
    elif runtime.mixed_precision:
        info.notes.append("mixed_precision ignored on the CPU (slower there, not faster)")
    info.precision = backend.precision()
    if info.precision != "float32" and not use_gpu:
        backend.set_precision("float32")  # someone set a policy earlier: undo it on the CPU
        info.precision = backend.precision()

    backend.set_jit(runtime.xla)
    info.xla = runtime.xla
    log.info("runtime: %s (requested %s), precision %s, xla %s%s", info.device, info.requested,
             info.precision, "on" if info.xla else "off",
             f", GPUs {', '.join(info.gpus)}" if info.gpus else "")
    return info


def batch_size(runtime: RuntimeSettings, model: str, device: str) -> int:
    """Inference batch size for `model` ("relation" / "spans" / "assertion") on `device` ("cpu" / "gpu")."""
    if model not in MODELS or device not in ("cpu", "gpu"):
        raise ValueError(f"batch_size(model in {MODELS}, device cpu|gpu), got {model!r}, {device!r}")
    return getattr(runtime.batch_size, f"{model}_{device}")
