"""The version is set once, in CMakeLists.txt's project() line; the module reads it from the build."""
import pathlib
import re

import parmap


def test_version_comes_from_cmake():
    cmake = (pathlib.Path(__file__).resolve().parents[2] / "CMakeLists.txt").read_text()
    declared = re.search(r"project\(parmap VERSION ([0-9][0-9.]*)", cmake).group(1)
    assert parmap.__version__ == declared
