import Foundation

/// Finds the video files under the paths a user names.
///
/// - Recursive, following symbolic links, but each directory (device, inode) is entered once, so link loops
///   end and a folder linked twice is scanned once. A link to a folder that contains the scanned root (`/`, a
///   parent) or into the kernel's file systems (`/proc`, `/sys`, `/dev`, `/run`) is not followed and is reported:
///   either would make a scan walk the whole machine.
/// - A video-named entry that is not a regular file (a FIFO, a socket, a device) and a name that is not valid
///   UTF-8 are reported, not skipped in silence.
/// - Hidden entries and the junk other systems leave behind (`._*`, `.DS_Store`, `@eaDir`, `#recycle`,
///   `System Volume Information`, `$RECYCLE.BIN`, `lost+found`) are skipped.
/// - A file is a candidate when its extension is a video one *or* its first bytes are a known video
///   container's signature, so `clip.bin` that is really an MP4 is found, and `notes.mp4` full of text is a
///   candidate whose indexing then fails with a clear cause.
public struct VideoFinder: Sendable {
    public struct Candidate: Sendable, Equatable {
        /// Absolute, standardised path.
        public let path: String
        public let size: UInt64
        /// Modification time, seconds since 1970.
        public let mtime: Double
    }

    /// A path that could not be scanned, with the cause.
    public struct Problem: Sendable, Equatable {
        public let path: String
        public let cause: String
    }

    public static let videoExtensions: Set<String> = [
        "mp4", "m4v", "mov", "qt", "mkv", "webm", "avi", "wmv", "asf", "flv", "mpg", "mpeg", "m2v", "ts", "mts",
        "m2ts", "3gp", "3g2", "ogv", "vob", "mxf", "dv", "divx", "f4v", "gif",
    ]
    static let junkNames: Set<String> = [
        "@eaDir", "#recycle", "System Volume Information", "$RECYCLE.BIN", "lost+found", "Thumbs.db", "desktop.ini",
    ]

    public init() {}

    /// Whether a directory entry named `name` is skipped without looking inside.
    public static func isJunk(_ name: String) -> Bool {
        name.hasPrefix(".") || junkNames.contains(name)
    }

    /// All candidate video files under `roots` (files or directories), sorted by path, plus what could not be
    /// read. A root that is itself a file is always a candidate, whatever its name.
    public func scan(_ roots: [String]) -> (candidates: [Candidate], problems: [Problem]) {
        var found: [String: Candidate] = [:]
        var problems: [Problem] = []
        var visited = Set<DirectoryID>()
        for root in roots {
            let path = URL(fileURLWithPath: root).standardizedFileURL.path
            var st = stat()
            guard stat(path, &st) == 0 else {
                problems.append(Problem(path: path, cause: String(cString: strerror(errno))))
                continue
            }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                walk(path, root: Self.realPath(path) ?? path, &found, &problems, &visited)
            } else if (st.st_mode & S_IFMT) == S_IFREG {
                found[path] = Candidate(path: path, size: UInt64(st.st_size), mtime: Self.mtime(st))
            } else {
                problems.append(Problem(path: path, cause: "not a regular file or directory"))
            }
        }
        return (found.values.sorted { $0.path < $1.path }, problems)
    }

    private struct DirectoryID: Hashable {
        let device: UInt64
        let inode: UInt64
    }

    private func walk(
        _ dir: String, root: String, _ found: inout [String: Candidate], _ problems: inout [Problem],
        _ visited: inout Set<DirectoryID>
    ) {
        var st = stat()
        guard stat(dir, &st) == 0 else { return }
        guard visited.insert(DirectoryID(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))).inserted else { return }
        guard let handle = opendir(dir) else {
            problems.append(Problem(path: dir, cause: String(cString: strerror(errno))))
            return
        }
        var names: [String] = []
        while let entry = readdir(handle) {
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix(while: { $0 != 0 })) }
            let name = String(decoding: bytes, as: UTF8.self)
            if name == "." || name == ".." || Self.isJunk(name) { continue }
            guard String(validating: bytes, as: UTF8.self) != nil else {
                // Paths are kept as text: a name that is not UTF-8 cannot be opened again by it.
                problems.append(Problem(path: dir + "/" + name, cause: "the file name is not valid UTF-8; rename it to index it"))
                continue
            }
            names.append(name)
        }
        closedir(handle)
        for name in names.sorted() {
            let path = dir == "/" ? "/" + name : dir + "/" + name
            var est = stat(), lst = stat()
            guard stat(path, &est) == 0 else { continue }  // dangling link or vanished: nothing to index
            let isLink = lstat(path, &lst) == 0 && (lst.st_mode & S_IFMT) == S_IFLNK
            switch est.st_mode & S_IFMT {
            case S_IFDIR:
                if isLink, let refusal = Self.refusedLinkTarget(path, root: root) {
                    problems.append(Problem(path: path, cause: refusal))
                    continue
                }
                walk(path, root: root, &found, &problems, &visited)
            case S_IFREG:
                if Self.looksLikeVideo(path: path, name: name) {
                    found[path] = Candidate(path: path, size: UInt64(est.st_size), mtime: Self.mtime(est))
                }
            default:
                if Self.videoExtensions.contains((name as NSString).pathExtension.lowercased()) {
                    problems.append(Problem(path: path, cause: "not a regular file (a FIFO, socket or device)"))
                }
            }
        }
    }

    /// Why the folder a symbolic link at `path` leads to is not scanned, or nil when it is.
    static func refusedLinkTarget(_ path: String, root: String) -> String? {
        guard let target = realPath(path) else { return nil }
        if target == "/" || root == target || root.hasPrefix(target + "/") {
            return "symbolic link to \(target), which contains the scanned folder: not followed"
        }
        if ["/proc", "/sys", "/dev", "/run"].contains(where: { target == $0 || target.hasPrefix($0 + "/") }) {
            return "symbolic link onto the system file system \(target): not followed"
        }
        return nil
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func mtime(_ st: stat) -> Double {
        Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
    }

    /// A video extension, or a container signature in the first bytes.
    public static func looksLikeVideo(path: String, name: String) -> Bool {
        let ext = (name as NSString).pathExtension.lowercased()
        if videoExtensions.contains(ext) { return true }
        guard let head = FileHandle(forReadingAtPath: path).flatMap({ h in
            defer { try? h.close() }
            return try? h.read(upToCount: ContainerSignature.bytesNeeded)
        }) else { return false }
        return ContainerSignature.match(Array(head)) != nil
    }
}

/// Container formats recognised from a file's first bytes.
public enum ContainerSignature: String, Sendable {
    case isoMedia = "MP4/MOV"
    case matroska = "Matroska/WebM"
    case avi = "AVI"
    case flv = "FLV"
    case asf = "ASF/WMV"
    case mpegPS = "MPEG-PS"
    case mpegTS = "MPEG-TS"
    case ogg = "Ogg"

    /// How many leading bytes `match` looks at.
    public static let bytesNeeded = 189

    public static func match(_ b: [UInt8]) -> ContainerSignature? {
        func at(_ i: Int, _ s: [UInt8]) -> Bool { b.count >= i + s.count && Array(b[i..<(i + s.count)]) == s }
        if at(4, Array("ftyp".utf8)) { return .isoMedia }
        if at(0, [0x1A, 0x45, 0xDF, 0xA3]) { return .matroska }
        if at(0, Array("RIFF".utf8)) && at(8, Array("AVI ".utf8)) { return .avi }
        if at(0, Array("FLV".utf8)) { return .flv }
        if at(0, [0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11]) { return .asf }
        if at(0, [0x00, 0x00, 0x01, 0xBA]) { return .mpegPS }
        if at(0, Array("OggS".utf8)) { return .ogg }
        if b.count > 188 && b[0] == 0x47 && b[188] == 0x47 { return .mpegTS }  // two packet sync bytes
        return nil
    }
}
