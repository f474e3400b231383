"""Pose stage: video (or keypoint files) → PoseSeries."""

from backtorun.pose._keypoint_files import load_keypoints, save_keypoints_csv
from backtorun.pose.camera_motion import (
           is_panning,
           measure_camera_motion,
           panning_summary,
)
from backtorun.pose.estimate import estimate_pose
from backtorun.pose.video import Frame, iter_frames, read_video_info

__all__ = ["estimate_pose", "iter_frames", "read_video_info", "Frame", "load_keypoints", "save_keypoints_csv",
           "is_panning", "panning_summary", "measure_camera_motion"]
