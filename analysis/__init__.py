"""Analysis of nnscape results files: loading, figures and the HTML report.

Loading and plotting stay separate: ``analysis.load`` turns results files into pandas objects,
``analysis.figures`` turns DataFrames into matplotlib Figures and tables, ``analysis.report``
writes the HTML report. Only Debian's python3 with python3-h5py, -numpy, -pandas and
-matplotlib is needed. The modules are imported explicitly (``analysis.load.load`` would
otherwise shadow its own module):

>>> from analysis.load import load, spectrum, trajectory        # doctest: +SKIP
>>> df = load("results.h5")                                     # doctest: +SKIP
>>> df.groupby(["activation", "width"]).status.value_counts()   # doctest: +SKIP
"""
