// CFFmpeg: libavformat, libavcodec, libswscale and libavutil's headers. Only the Media module imports this.
// Helpers for macros Swift cannot import carry the vj_ prefix.
#ifndef VJ_CFFMPEG_SHIM_H
#define VJ_CFFMPEG_SHIM_H
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>
#include <libavutil/avutil.h>
#include <libavutil/display.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>

static inline int vj_averror(int e) { return AVERROR(e); }
static inline int vj_averror_eof(void) { return AVERROR_EOF; }
static inline int vj_averror_invaliddata(void) { return AVERROR_INVALIDDATA; }
static inline int vj_averror_decoder_not_found(void) { return AVERROR_DECODER_NOT_FOUND; }
static inline int vj_averror_encoder_not_found(void) { return AVERROR_ENCODER_NOT_FOUND; }
static inline int vj_averror_stream_not_found(void) { return AVERROR_STREAM_NOT_FOUND; }
static inline int64_t vj_av_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline AVRational vj_av_time_base_q(void) { return AV_TIME_BASE_Q; }
#endif
