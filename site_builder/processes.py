"""Worker processes of a build, a link check or an audit: they end with the process that started them."""
from __future__ import annotations

import ctypes
import os
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Pool initializer: the kernel kills this worker when its parent dies (Linux), so a killed publish
    leaves no worker behind holding the publish lock's inherited descriptor or writing a release."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the workers end when their work does
        return
    if os.getppid() == 1:  # the parent died before the request took effect
        os._exit(1)
