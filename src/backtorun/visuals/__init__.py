"""Visual outputs: skeleton drawing, the annotated video and key-frame pictures (OpenCV + PyAV)."""

from backtorun.visuals.annotate import write_annotated_video
from backtorun.visuals.keyframes import KeyFrame, pick_keyframes, render_keyframe, write_png
from backtorun.visuals.skeleton import draw_angle, draw_skeleton, draw_text

__all__ = ["write_annotated_video", "KeyFrame", "pick_keyframes", "render_keyframe", "write_png", "draw_angle",
           "draw_skeleton", "draw_text"]
