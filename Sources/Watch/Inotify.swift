import Foundation
import SystemCall

/// An inotify instance (`inotify_init1`): watch descriptors on directories and the events they queue.
public final class Inotify {
    /// One `struct inotify_event`.
    public struct Event: Sendable, Equatable {
        public var watch: Int32
        public var mask: UInt32
        public var cookie: UInt32
        /// The entry's name inside the watched directory; empty for events on the directory itself.
        public var name: String

        public func has(_ flag: Int32) -> Bool { mask & UInt32(bitPattern: flag) != 0 }
        public func has(_ flag: UInt32) -> Bool { mask & flag != 0 }
    }

    /// What a watched directory reports: entries created, written, closed after writing, with attributes
    /// changed, moved in or out, deleted; and the directory's own deletion or move.
    public static let directoryMask: UInt32 = UInt32(
        IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE
            | IN_DELETE_SELF | IN_MOVE_SELF) | UInt32(IN_ONLYDIR)

    /// The descriptor to `poll` for readability.
    public let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 64 << 10)

    public init() throws(SystemCallError) {
        fd = try SystemCallError.check(inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC)), "inotify_init1")
    }

    deinit { close(fd) }

    /// Watches directory `path`; the same directory (inode) yields the same descriptor.
    public func add(_ path: String, mask: UInt32 = Inotify.directoryMask) throws(SystemCallError) -> Int32 {
        try SystemCallError.check(inotify_add_watch(fd, path, mask), "inotify_add_watch", path: path)
    }

    public func remove(_ watch: Int32) { _ = inotify_rm_watch(fd, watch) }

    /// The events queued now, without waiting; empty when there are none.
    public func read() throws(SystemCallError) -> [Event] {
        var events: [Event] = []
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EAGAIN { return events }
                if errno == EINTR { continue }
                throw SystemCallError("read(inotify)", path: nil)
            }
            if n == 0 { return events }
            buffer.withUnsafeBytes { raw in
                var offset = 0
                let header = MemoryLayout<inotify_event>.size
                while offset + header <= n {
                    let wd = raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                    let mask = raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                    let cookie = raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self)
                    let length = Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                    let bytes = raw[(offset + header)..<min(n, offset + header + length)]
                    let name = String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
                    events.append(Event(watch: wd, mask: mask, cookie: cookie, name: name))
                    offset += header + length
                }
            }
        }
    }
}

/// A self-pipe that wakes a thread blocked in `poll` from another thread (shutdown, SIGHUP).
public final class Wakeup: @unchecked Sendable {
    public let readFD: Int32
    private let writeFD: Int32

    public init() throws(SystemCallError) {
        var fds: [Int32] = [0, 0]
        try SystemCallError.check(pipe(&fds), "pipe")
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        readFD = fds[0]
        writeFD = fds[1]
    }

    deinit {
        close(readFD)
        close(writeFD)
    }

    /// Wakes the poller (a full pipe already will).
    public func signal() {
        var byte: UInt8 = 1
        _ = write(writeFD, &byte, 1)
    }

    /// Empties the pipe after a wakeup.
    public func drain() {
        var bytes = [UInt8](repeating: 0, count: 64)
        while bytes.withUnsafeMutableBytes({ Glibc.read(readFD, $0.baseAddress, $0.count) }) > 0 {}
    }

    /// Waits up to `timeout` seconds for the pipe or `other` to become readable; returns whether `other` is.
    public func wait(other: Int32?, timeout: Double) -> Bool {
        var fds = [pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)]
        if let other { fds.append(pollfd(fd: other, events: Int16(POLLIN), revents: 0)) }
        let milliseconds = Int32(max(0, min(timeout, 3600)) * 1000)
        let n = poll(&fds, nfds_t(fds.count), milliseconds)
        if n > 0 && fds[0].revents != 0 { drain() }
        return n > 0 && fds.count > 1 && fds[1].revents != 0
    }
}
