import CFFmpeg
/// Media: open, probe and decode video files with FFmpeg; sample frames at exact timestamps; cut clip windows.
public enum Media {}
