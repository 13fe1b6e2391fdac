"""Test and benchmark helpers that ship with medms: a messy DICOM tree generator and a byte-mutation fuzzer.

They use only :mod:`medms.io`, :mod:`medms.synthetic`, numpy and pydicom, write synthetic PHI-free files,
and never download anything.
"""
