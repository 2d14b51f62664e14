# lit configuration for fxc's IR regression tests.
#
#   .mlir  fxc-opt / torch-mlir-opt + FileCheck
#   .py    `# RUN: %PYTHON %s | FileCheck %s` frontend scripts
import os
import sys

import lit.formats

config.name = "fxc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".py", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.test_source_root, "Output")
config.excludes = ["lit.cfg.py", "python", "Output", "conftest.py"]

root = os.path.dirname(config.test_source_root)
bin_dir = os.path.dirname(sys.executable)  # the venv that runs lit
config.environment["PATH"] = os.pathsep.join([bin_dir, config.environment.get("PATH", os.environ.get("PATH", ""))])
config.environment["PYTHONPATH"] = root
config.environment["PYTHONWARNINGS"] = "ignore::FutureWarning"
# A compile cache of the test run's own (fxc's source digest keys it, so it
# never serves code of an older compiler).
config.environment["FXC_CACHE_DIR"] = os.path.join(config.test_exec_root, "fxc-cache")
for var in ("HOME", "TMPDIR"):
    if var in os.environ:
        config.environment[var] = os.environ[var]

config.substitutions.append(("%PYTHON", sys.executable))
config.substitutions.append(("%fxc_irdl", os.path.join(root, "fxc", "dialects", "fxc.irdl.mlir")))
config.substitutions.append(("%examples", os.path.join(root, "examples")))
