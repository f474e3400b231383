"""Accuracy validation of backtorun against reference data (motion capture, force plates, labelled video).

Everything here reads real data from ``../shared/data`` (never copied into the repository) and regenerates
``docs/validation.md`` with ``python -m validation.report``. Modules:

- :mod:`validation.agreement`  – Bland–Altman statistics and event matching.
- :mod:`validation.camera`     – pinhole camera that turns 3D keypoints into a 2D :class:`~backtorun.types.PoseSeries`.
- :mod:`validation.forceplate` – contact detection on vertical ground reaction force (threshold + hysteresis).
- :mod:`validation.mocap`      – gap filling, rigid cluster fits, Harrington hip centre, SCoRE joint centres.
- :mod:`validation.rbds`       – Fukuchi running biomechanics data set (markers + force plate), per-trial CLI.
- :mod:`validation.hamner`     – Hamner subject02 (OpenSim): hip-extension decomposition, trunk indicator.
- :mod:`validation.footnet`    – FootNet example data: event detection against force labels.
- :mod:`validation.video_labels` – real video (mini_run.mp4) against hand-labelled events.
- :mod:`validation.sensitivity` – frame rate, keypoint noise, camera yaw and height.
- :mod:`validation.clip_protocol` – labelled clips and scoring protocol (``labels/clips.yaml``) as typed settings.
- :mod:`validation.label_agreement` – agreement of two labellers and the consensus labels (``labels/README.md``).
- :mod:`validation.clip_scoring` – the detector on a labelled clip against its consensus (issue #14 metrics).
- :mod:`validation.generalisation` – leave-one-dataset-out table and the frozen record of the constants.
- :mod:`validation.report`     – writes docs/validation.md.
- :mod:`validation.make_demo_sample` – builds the shipped demo PoseSeries from open motion capture.
"""

from pathlib import Path

#: Root of the shared reference data (../shared/data relative to the repository root).
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
