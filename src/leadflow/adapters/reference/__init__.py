"""Reference tables from registry packages, offline: US states (``us``), ISO 3166 countries
(``pycountry``), ZIP codes (``zipcodes``) and disposable email domains
(``disposable-email-domains``). Every table ships inside its package; nothing is downloaded.
"""

from leadflow.adapters.reference.tables import PackageReferenceData, reference_data

__all__ = ["PackageReferenceData", "reference_data"]
