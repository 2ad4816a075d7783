// CFFmpegLoader: FFmpeg's libraries are opened with dlopen on first use instead of at process start.
//
// Linking libavformat pulls in some 150 shared libraries (codecs, TLS, X11, GLib…) whose loading and
// relocation cost every process tens of milliseconds, although only indexing decodes video: a cold
// `vjsearch query` never touches FFmpeg. This target defines the FFmpeg functions the Media module calls;
// each forwards to the real one, resolved once with dlsym. Media calls vj_ffmpeg_load() before its first
// FFmpeg call and reports a failure as an error naming the missing library.
#ifndef VJ_FFMPEG_LOADER_H
#define VJ_FFMPEG_LOADER_H

/// Opens libavutil, libswscale, libavcodec and libavformat (the major versions built against) and resolves
/// every forwarded function. Thread-safe; runs once. Returns NULL on success, otherwise the reason.
const char *vj_ffmpeg_load(void);

#endif
