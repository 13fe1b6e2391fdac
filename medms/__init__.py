"""medms: multi-scale ResNet-50 classification of medical scans, as a MONAI plugin.

The public API is small; import what you need from the subpackages::

    from medms.io import scan_dicom, read_series
    from medms.transforms import LoadSeriesd
    from medms.networks import multiscale_resnet50
"""

__version__ = "0.1.0"
