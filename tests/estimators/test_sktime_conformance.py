"""sktime's conformance suite over every forecaster that skmamba.estimators exports."""

import skmamba.estimators
from sktime.utils.estimator_checks import check_estimator, parametrize_with_checks

# Enumerating the MODELS registry covers forecasters added later without touching this file.
FORECASTERS = list(skmamba.estimators.MODELS.values())


@parametrize_with_checks(FORECASTERS)
def test_sktime_api_compliance(obj, test_name):
    check_estimator(obj, tests_to_run=test_name, raise_exceptions=True)
