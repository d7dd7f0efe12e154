"""sktime's conformance suite over every forecaster that skmamba.estimators exports."""

import skmamba.estimators
from sktime.utils.estimator_checks import check_estimator, parametrize_with_checks

# Enumerating __all__ covers forecasters added later without touching this file.
FORECASTERS = [getattr(skmamba.estimators, name) for name in skmamba.estimators.__all__]


@parametrize_with_checks(FORECASTERS)
def test_sktime_api_compliance(obj, test_name):
    check_estimator(obj, tests_to_run=test_name, raise_exceptions=True)
