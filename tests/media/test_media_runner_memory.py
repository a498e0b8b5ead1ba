"""The memory ceiling of media children: an allocation past it is OutOfMemory, said plainly."""

from __future__ import annotations

import pickle

import pytest

from shortstack.media.runner import OutOfMemory, Worker, run_isolated


def hog(mib: int) -> int:
    """Allocate (and touch) ``mib`` MiB; its length."""
    return len(bytearray(mib * 1024 * 1024))


def test_a_fresh_child_past_its_ceiling_is_out_of_memory():
    with pytest.raises(OutOfMemory, match="more than 600 MiB of memory") as caught:
        run_isolated(hog, 2048, timeout_s=30, memory_limit_mb=600)
    assert caught.value.limit_mb == 600
    assert run_isolated(hog, 16, timeout_s=30, memory_limit_mb=600) == 16 * 1024 * 1024


def test_a_worker_past_its_ceiling_is_restarted():
    worker = Worker("shortstack-test-hog", memory_limit_mb=600)
    try:
        with pytest.raises(OutOfMemory):
            worker.call(hog, 2048, timeout_s=30)
        assert worker.pid is None  # not trusted again
        assert worker.call(hog, 16, timeout_s=30) == 16 * 1024 * 1024
    finally:
        worker.close()


def test_out_of_memory_survives_a_pickle():
    exc = pickle.loads(pickle.dumps(OutOfMemory(512, "malloc failed")))
    assert (exc.limit_mb, exc.detail) == (512, "malloc failed")
    assert str(exc) == "needed more than 512 MiB of memory and was stopped (malloc failed)"
