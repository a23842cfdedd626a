"""etl/runtime.py: device choice, GPU-only mixed precision, XLA, batch sizes per device.

The GPU branches run against a fake backend (no machine here has a GPU); the CPU path also runs
against real TensorFlow.
"""
import pytest

from etl.config import RuntimeBatchSizes, RuntimeSettings, load_settings
from etl.errors import ConfigError
from etl.runtime import MIXED_POLICY, batch_size, configure


class FakeBackend:
    version = "2.21.0"

    def __init__(self, gpus=(), initialised=False):
        self.gpus = list(gpus)
        self.initialised = initialised  # TensorFlow already ran an op: GPU set-up raises
        self.calls = []
        self.policy = "float32"

    def list_gpus(self):
        return self.gpus

    def gpu_name(self, gpu):
        return gpu

    def hide_gpus(self):
        self._gpu_call("hide")

    def set_memory_growth(self, gpu):
        self._gpu_call(("growth", gpu))

    def _gpu_call(self, call):
        if self.initialised:
            raise RuntimeError("Physical devices cannot be modified after being initialized")
        self.calls.append(call)

    def set_precision(self, policy):
        self.calls.append(("policy", policy))
        self.policy = policy

    def precision(self):
        return self.policy

    def set_jit(self, enabled):
        self.calls.append(("jit", enabled))


def test_auto_picks_the_gpu_when_one_is_visible():
    backend = FakeBackend(gpus=["/physical_device:GPU:0", "/physical_device:GPU:1"])
    info = configure(RuntimeSettings(mixed_precision=True, xla=True), backend)
    assert info.device == "gpu" and info.requested == "auto"
    assert info.memory_growth and ("growth", "/physical_device:GPU:1") in backend.calls
    assert info.precision == MIXED_POLICY and info.xla and ("jit", True) in backend.calls
    assert info.as_dict()["gpus"] == ["/physical_device:GPU:0", "/physical_device:GPU:1"]


def test_auto_falls_back_to_the_cpu_without_mixed_precision():
    backend = FakeBackend()
    info = configure(RuntimeSettings(mixed_precision=True), backend)
    assert info.device == "cpu" and info.precision == "float32"
    assert ("policy", MIXED_POLICY) not in backend.calls
    assert any("mixed_precision ignored" in note for note in info.notes)
    assert ("jit", False) in backend.calls


def test_cpu_hides_visible_gpus_and_undoes_an_earlier_policy():
    backend = FakeBackend(gpus=["GPU:0"])
    backend.policy = MIXED_POLICY  # set by someone before configure()
    info = configure(RuntimeSettings(device="cpu", mixed_precision=True), backend)
    assert info.device == "cpu" and "hide" in backend.calls
    assert info.precision == "float32" and not info.memory_growth


def test_gpu_requested_but_none_visible_is_a_config_error():
    with pytest.raises(ConfigError, match="runtime.device = gpu, but TensorFlow sees no GPU"):
        configure(RuntimeSettings(device="gpu"), FakeBackend())


def test_gpu_set_up_after_tensorflow_started_is_reported_not_fatal():
    info = configure(RuntimeSettings(device="gpu"), FakeBackend(gpus=["GPU:0"], initialised=True))
    assert info.device == "gpu" and not info.memory_growth
    assert any("already initialised" in note for note in info.notes)


def test_memory_growth_off_is_left_alone():
    backend = FakeBackend(gpus=["GPU:0"])
    info = configure(RuntimeSettings(memory_growth=False), backend)
    assert info.device == "gpu" and not info.memory_growth and backend.calls == [("jit", False)]


def test_batch_size_per_model_and_device():
    runtime = RuntimeSettings(batch_size=RuntimeBatchSizes(relation_cpu=8, relation_gpu=256,
                                                           spans_cpu=16, spans_gpu=1024))
    assert batch_size(runtime, "relation", "cpu") == 8
    assert batch_size(runtime, "relation", "gpu") == 256
    assert batch_size(runtime, "spans", "gpu") == 1024
    with pytest.raises(ValueError):
        batch_size(runtime, "ner", "cpu")


def test_runtime_settings_from_environment_and_checks():
    settings = load_settings(None, environ={"ETL_RUNTIME_DEVICE": "cpu",
                                            "ETL_RUNTIME_BATCH_SIZE_SPANS_GPU": "2048",
                                            "ETL_RUNTIME_MIXED_PRECISION": "true"})
    assert settings.runtime.device == "cpu" and settings.runtime.mixed_precision
    assert settings.runtime.batch_size.spans_gpu == 2048
    with pytest.raises(ConfigError, match="runtime.device must be one of"):
        load_settings(None, environ={"ETL_RUNTIME_DEVICE": "tpu"})
    with pytest.raises(ConfigError, match="runtime.batch_size.relation_cpu must be positive"):
        load_settings(None, overrides={"runtime.batch_size.relation_cpu": "0"}, environ={})


def test_real_tensorflow_on_this_cpu_machine():
    """No GPU here: auto runs on the CPU in float32, and gpu is refused with a clear error."""
    info = configure(RuntimeSettings(mixed_precision=True))
    if info.gpus:  # pragma: no cover - only on a machine with a GPU
        pytest.skip("a GPU is visible: the CPU-only expectations do not apply")
    assert info.device == "cpu" and info.precision == "float32" and info.tensorflow == "2.21.0"
    with pytest.raises(ConfigError, match="no GPU"):
        configure(RuntimeSettings(device="gpu"))
