"""``python -m skmamba``: the main job (see :mod:`skmamba._main`)."""

from ._main import main

if __name__ == "__main__":
    main()
