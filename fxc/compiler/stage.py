"""A stage of the pipeline, as data.

Each stage is named after the IR it produces and lists the pass-pipeline
elements that produce it from the previous stage's IR.  The target-independent
table is ``fxc.transforms.stages``; each backend appends its own stages
(``Backend.stages``).  ``fxc compile --emit=STAGE``,
``fxc.compile(..., stop_after=STAGE)`` and ``fxc-opt --stage=STAGE`` read the
same tables, and a module dumped after any stage can be fed back in to run
the stages after it.
"""

from __future__ import annotations

import dataclasses
from typing import Tuple


@dataclasses.dataclass(frozen=True)
class Stage:
    """One step of the pipeline.

    Attributes:
        name: the IR this stage produces (what ``--emit`` names).
        input_dialects: dialects the stage expects in its input.
        passes: pipeline elements: registered fxc pass names or
            upstream/torch-mlir textual pipeline elements.
    """

    name: str
    input_dialects: Tuple[str, ...]
    passes: Tuple[str, ...]

    @property
    def pipeline(self) -> str:
        return f"builtin.module({','.join(self.passes)})"


#: ``torch`` is produced by the frontend (import); it has no passes.
IMPORT = Stage("torch", ("pytorch",), ())
