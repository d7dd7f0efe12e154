"""What scikit-learn's meta-estimators expect of an estimator that sktime objects lack."""

from sklearn.utils import InputTags, Tags, TargetTags

__all__ = ["SklearnCompatMixin"]

# Attributes sklearn's meta-estimators set on an estimator for the duration of a fit.
_SKLEARN_RUNTIME_ATTRS = ("_parent_callback_ctx", "_skl_callbacks")


class SklearnCompatMixin:
    """sklearn tags and a ``reset`` that keeps sklearn's runtime callback context.

    Mixed into :class:`~skmamba.estimators.BaseMambaForecaster` before sktime's base, so
    ``GridSearchCV`` and sklearn's clone checks work on every forecaster.

    Examples
    --------
    >>> from skmamba.estimators import SMambaForecaster
    >>> SMambaForecaster(random_state=0).__sklearn_tags__().non_deterministic
    False
    """

    def __sklearn_tags__(self):
        # sklearn >= 1.6 asks every estimator for its tags (GridSearchCV, clone checks) and
        # sktime objects define none.
        return Tags(
            estimator_type=None,
            target_tags=TargetTags(required=False),
            input_tags=InputTags(allow_nan=False),
            non_deterministic=self.random_state is None,
        )

    def reset(self):
        """Reset to the post-init state, keeping sklearn's runtime callback context.

        sklearn (>= 1.8) attaches ``_parent_callback_ctx`` to an estimator around ``fit`` in
        ``GridSearchCV`` and deletes it afterwards; sktime's ``fit`` starts with ``reset()``,
        which would remove it first and make the search fail.

        Returns
        -------
        self
        """
        kept = {k: self.__dict__[k] for k in _SKLEARN_RUNTIME_ATTRS if k in self.__dict__}
        super().reset()
        self.__dict__.update(kept)
        return self
