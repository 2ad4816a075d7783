import CFFmpeg

extension VideoDecoder {
    /// Jumps to the last keyframe at least `margin` seconds before `target` when the container's
    /// index has one more than `minimumSkip` seconds past the last decoded frame; returns whether
    /// it seeked. After a seek the decoder is flushed and decoding restarts at that keyframe.
    ///
    /// The margin keeps the keyframe's presentation time (its index timestamp may be a dts, and
    /// B-frames shift pts after dts) at or before `target`.
    func seekIfWorthwhile(to target: Double, margin: Double = 0.5, minimumSkip: Double = 2.0) -> Bool {
        guard timeBase > 0, !finished else { return false }
        let stream = file.videoStream
        guard avformat_index_get_entries_count(stream) > 0 else { return false }
        let current = lastTime ?? -Double.infinity
        guard target - margin > current + minimumSkip else { return false }
        let position = ((target - margin + file.info.startTime) / timeBase).rounded(.down)
        guard position.isFinite, abs(position) < 0x1p62 else { return false }
        let ts = Int64(position)
        guard let entry = avformat_index_get_entry_from_timestamp(stream, ts, AVSEEK_FLAG_BACKWARD) else {
            return false
        }
        let entryTime = Double(entry.pointee.timestamp) * timeBase - file.info.startTime
        guard entryTime > current + minimumSkip, entry.pointee.timestamp > lastSeek else { return false }
        lastSeek = entry.pointee.timestamp
        guard av_seek_frame(file.format, stream.pointee.index, entry.pointee.timestamp, AVSEEK_FLAG_BACKWARD) >= 0 else {
            return false
        }
        avcodec_flush_buffers(codec)
        return true
    }
}
