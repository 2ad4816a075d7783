// The FFmpeg functions Media uses, forwarded to the libraries opened by vj_ffmpeg_load().
// Each definition must match FFmpeg's declaration, which the compiler checks against the included headers.
#include "vj_ffmpeg_loader.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/display.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#define VJ_STRINGIFY_(x) #x
#define VJ_STRINGIFY(x) VJ_STRINGIFY_(x)

enum { AVUTIL, SWSCALE, AVCODEC, AVFORMAT, LIBRARY_COUNT };

// Dependencies first: each library's own DT_NEEDED entries name the same sonames.
static const char *const library_names[LIBRARY_COUNT] = {
    "libavutil.so." VJ_STRINGIFY(LIBAVUTIL_VERSION_MAJOR),
    "libswscale.so." VJ_STRINGIFY(LIBSWSCALE_VERSION_MAJOR),
    "libavcodec.so." VJ_STRINGIFY(LIBAVCODEC_VERSION_MAJOR),
    "libavformat.so." VJ_STRINGIFY(LIBAVFORMAT_VERSION_MAJOR),
};

// Every forwarded function, with the library that defines it.
#define VJ_FFMPEG_FUNCTIONS(X)                                   \
    X(AVUTIL, av_display_rotation_get)                           \
    X(AVUTIL, av_frame_alloc)                                    \
    X(AVUTIL, av_frame_free)                                     \
    X(AVUTIL, av_frame_get_buffer)                               \
    X(AVUTIL, av_free)                                           \
    X(AVUTIL, av_image_fill_max_pixsteps)                        \
    X(AVUTIL, av_log_set_level)                                  \
    X(AVUTIL, av_malloc)                                         \
    X(AVUTIL, av_pix_fmt_desc_get)                               \
    X(AVUTIL, av_strerror)                                       \
    X(AVCODEC, av_packet_alloc)                                  \
    X(AVCODEC, av_packet_free)                                   \
    X(AVCODEC, av_packet_unref)                                  \
    X(AVCODEC, avcodec_alloc_context3)                           \
    X(AVCODEC, avcodec_find_decoder)                             \
    X(AVCODEC, avcodec_find_encoder)                             \
    X(AVCODEC, avcodec_flush_buffers)                            \
    X(AVCODEC, avcodec_free_context)                             \
    X(AVCODEC, avcodec_get_name)                                 \
    X(AVCODEC, avcodec_open2)                                    \
    X(AVCODEC, avcodec_parameters_to_context)                    \
    X(AVCODEC, avcodec_receive_frame)                            \
    X(AVCODEC, avcodec_receive_packet)                           \
    X(AVCODEC, avcodec_send_frame)                               \
    X(AVCODEC, avcodec_send_packet)                              \
    X(AVFORMAT, av_probe_input_format3)                          \
    X(AVFORMAT, av_read_frame)                                   \
    X(AVFORMAT, av_seek_frame)                                   \
    X(AVFORMAT, av_stream_get_side_data)                         \
    X(AVFORMAT, avformat_close_input)                            \
    X(AVFORMAT, avformat_find_stream_info)                       \
    X(AVFORMAT, avformat_index_get_entries_count)                \
    X(AVFORMAT, avformat_index_get_entry)                        \
    X(AVFORMAT, avformat_index_get_entry_from_timestamp)         \
    X(AVFORMAT, avformat_open_input)                             \
    X(AVFORMAT, avio_size)                                       \
    X(SWSCALE, sws_freeContext)                                  \
    X(SWSCALE, sws_getCachedContext)                             \
    X(SWSCALE, sws_getCoefficients)                              \
    X(SWSCALE, sws_scale)                                        \
    X(SWSCALE, sws_setColorspaceDetails)

static struct {
#define VJ_MEMBER(library, name) __typeof__(&name) name;
    VJ_FFMPEG_FUNCTIONS(VJ_MEMBER)
#undef VJ_MEMBER
} real;

static char load_error[512];
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void) {
    void *handles[LIBRARY_COUNT];
    for (int i = 0; i < LIBRARY_COUNT; i++) {
        handles[i] = dlopen(library_names[i], RTLD_NOW | RTLD_LOCAL);
        if (!handles[i]) {
            const char *why = dlerror();
            snprintf(load_error, sizeof load_error, "%s", why ? why : library_names[i]);
            return;
        }
    }
#define VJ_RESOLVE(library, name)                                                                   \
    real.name = (__typeof__(&name))dlsym(handles[library], #name);                                 \
    if (!real.name) {                                                                               \
        snprintf(load_error, sizeof load_error, "%s has no function %s", library_names[library], #name); \
        return;                                                                                     \
    }
    VJ_FFMPEG_FUNCTIONS(VJ_RESOLVE)
#undef VJ_RESOLVE
}

const char *vj_ffmpeg_load(void) {
    pthread_once(&load_once, load);
    return load_error[0] ? load_error : NULL;
}

// Reached only when Media skipped vj_ffmpeg_load()'s check: a programming error, not a user error.
static void require_loaded(const char *name) {
    const char *error = vj_ffmpeg_load();
    if (error) {
        fprintf(stderr, "vjsearch: %s called without FFmpeg: %s\n", name, error);
        abort();
    }
}

#define VJ_CALL(name, ...) (require_loaded(#name), real.name(__VA_ARGS__))

// avutil
double av_display_rotation_get(const int32_t matrix[9]) { return VJ_CALL(av_display_rotation_get, matrix); }
AVFrame *av_frame_alloc(void) { return (require_loaded("av_frame_alloc"), real.av_frame_alloc()); }
void av_frame_free(AVFrame **frame) { VJ_CALL(av_frame_free, frame); }
int av_frame_get_buffer(AVFrame *frame, int align) { return VJ_CALL(av_frame_get_buffer, frame, align); }
void av_free(void *ptr) { VJ_CALL(av_free, ptr); }
void av_image_fill_max_pixsteps(int max_pixsteps[4], int max_pixstep_comps[4], const AVPixFmtDescriptor *pixdesc) {
    VJ_CALL(av_image_fill_max_pixsteps, max_pixsteps, max_pixstep_comps, pixdesc);
}
void av_log_set_level(int level) { VJ_CALL(av_log_set_level, level); }
void *av_malloc(size_t size) { return VJ_CALL(av_malloc, size); }
const AVPixFmtDescriptor *av_pix_fmt_desc_get(enum AVPixelFormat pix_fmt) { return VJ_CALL(av_pix_fmt_desc_get, pix_fmt); }
int av_strerror(int errnum, char *errbuf, size_t errbuf_size) { return VJ_CALL(av_strerror, errnum, errbuf, errbuf_size); }

// avcodec
AVPacket *av_packet_alloc(void) { return (require_loaded("av_packet_alloc"), real.av_packet_alloc()); }
void av_packet_free(AVPacket **pkt) { VJ_CALL(av_packet_free, pkt); }
void av_packet_unref(AVPacket *pkt) { VJ_CALL(av_packet_unref, pkt); }
AVCodecContext *avcodec_alloc_context3(const AVCodec *codec) { return VJ_CALL(avcodec_alloc_context3, codec); }
const AVCodec *avcodec_find_decoder(enum AVCodecID id) { return VJ_CALL(avcodec_find_decoder, id); }
const AVCodec *avcodec_find_encoder(enum AVCodecID id) { return VJ_CALL(avcodec_find_encoder, id); }
void avcodec_flush_buffers(AVCodecContext *avctx) { VJ_CALL(avcodec_flush_buffers, avctx); }
void avcodec_free_context(AVCodecContext **avctx) { VJ_CALL(avcodec_free_context, avctx); }
const char *avcodec_get_name(enum AVCodecID id) { return VJ_CALL(avcodec_get_name, id); }
int avcodec_open2(AVCodecContext *avctx, const AVCodec *codec, AVDictionary **options) {
    return VJ_CALL(avcodec_open2, avctx, codec, options);
}
int avcodec_parameters_to_context(AVCodecContext *codec, const AVCodecParameters *par) {
    return VJ_CALL(avcodec_parameters_to_context, codec, par);
}
int avcodec_receive_frame(AVCodecContext *avctx, AVFrame *frame) { return VJ_CALL(avcodec_receive_frame, avctx, frame); }
int avcodec_receive_packet(AVCodecContext *avctx, AVPacket *avpkt) { return VJ_CALL(avcodec_receive_packet, avctx, avpkt); }
int avcodec_send_frame(AVCodecContext *avctx, const AVFrame *frame) { return VJ_CALL(avcodec_send_frame, avctx, frame); }
int avcodec_send_packet(AVCodecContext *avctx, const AVPacket *avpkt) { return VJ_CALL(avcodec_send_packet, avctx, avpkt); }

// avformat
const AVInputFormat *av_probe_input_format3(const AVProbeData *pd, int is_opened, int *score_ret) {
    return VJ_CALL(av_probe_input_format3, pd, is_opened, score_ret);
}
int av_read_frame(AVFormatContext *s, AVPacket *pkt) { return VJ_CALL(av_read_frame, s, pkt); }
int av_seek_frame(AVFormatContext *s, int stream_index, int64_t timestamp, int flags) {
    return VJ_CALL(av_seek_frame, s, stream_index, timestamp, flags);
}
uint8_t *av_stream_get_side_data(const AVStream *stream, enum AVPacketSideDataType type, size_t *size) {
    return VJ_CALL(av_stream_get_side_data, stream, type, size);
}
void avformat_close_input(AVFormatContext **s) { VJ_CALL(avformat_close_input, s); }
int avformat_find_stream_info(AVFormatContext *ic, AVDictionary **options) {
    return VJ_CALL(avformat_find_stream_info, ic, options);
}
int avformat_index_get_entries_count(const AVStream *st) { return VJ_CALL(avformat_index_get_entries_count, st); }
const AVIndexEntry *avformat_index_get_entry(AVStream *st, int idx) { return VJ_CALL(avformat_index_get_entry, st, idx); }
const AVIndexEntry *avformat_index_get_entry_from_timestamp(AVStream *st, int64_t wanted_timestamp, int flags) {
    return VJ_CALL(avformat_index_get_entry_from_timestamp, st, wanted_timestamp, flags);
}
int avformat_open_input(AVFormatContext **ps, const char *url, const AVInputFormat *fmt, AVDictionary **options) {
    return VJ_CALL(avformat_open_input, ps, url, fmt, options);
}
int64_t avio_size(AVIOContext *s) { return VJ_CALL(avio_size, s); }

// swscale
void sws_freeContext(struct SwsContext *swsContext) { VJ_CALL(sws_freeContext, swsContext); }
struct SwsContext *sws_getCachedContext(struct SwsContext *context, int srcW, int srcH, enum AVPixelFormat srcFormat,
                                        int dstW, int dstH, enum AVPixelFormat dstFormat, int flags,
                                        SwsFilter *srcFilter, SwsFilter *dstFilter, const double *param) {
    return VJ_CALL(sws_getCachedContext, context, srcW, srcH, srcFormat, dstW, dstH, dstFormat, flags, srcFilter,
                   dstFilter, param);
}
const int *sws_getCoefficients(int colorspace) { return VJ_CALL(sws_getCoefficients, colorspace); }
int sws_scale(struct SwsContext *c, const uint8_t *const srcSlice[], const int srcStride[], int srcSliceY,
              int srcSliceH, uint8_t *const dst[], const int dstStride[]) {
    return VJ_CALL(sws_scale, c, srcSlice, srcStride, srcSliceY, srcSliceH, dst, dstStride);
}
int sws_setColorspaceDetails(struct SwsContext *c, const int inv_table[4], int srcRange, const int table[4],
                             int dstRange, int brightness, int contrast, int saturation) {
    return VJ_CALL(sws_setColorspaceDetails, c, inv_table, srcRange, table, dstRange, brightness, contrast,
                   saturation);
}
