import Foundation
import Media
import Neural
import Synchronization

// The decode side of `Ingestor`'s pipeline: what the decode thread sends, how it cuts a file into batches, and
// the queue between the two threads.
extension Ingestor {
    /// What the decode thread sends.
    enum Item: Sendable {
        /// Job `job`'s file opened; its container's duration, when it states one.
        case opened(job: Int, duration: Double?)
        /// Clips of job `job`, in order, with their tensors.
        case clips(job: Int, clips: [Clip], tensors: [Tensor], decodeSeconds: Double)
        /// Job `job` decoded completely.
        case end(job: Int, duration: Double, decodeSeconds: Double)
        case failed(job: Int, failure: VideoFailure, decodeSeconds: Double)

        var job: Int {
            switch self {
            case .opened(let job, _), .clips(let job, _, _, _), .end(let job, _, _), .failed(let job, _, _): job
            }
        }

        /// The decode thread's busy seconds since its previous item.
        var decodeSeconds: Double {
            switch self {
            case .opened: 0
            case .clips(_, _, _, let seconds), .end(_, _, let seconds), .failed(_, _, let seconds): seconds
            }
        }
    }

    /// Starts the decode thread (one of `decodeThreads`): it decodes `jobs` in order into `queue` and closes it at
    /// the end, or stops early once the queue is closed.
    func startDecoding(_ jobs: [Job], into queue: BoundedQueue<Item>) {
        let spec = embedder.clipSpec(window: options.window, stride: options.stride)
        let decodeOptions = FrameSampler.Options(threads: options.decodeThreads)
        let batch = max(1, options.batch)
        let starts = jobs.map { (path: $0.path, after: $0.resumeAfter, firstClip: $0.nextClip) }
        let willEnd = decodeThreadWillEnd
        decodeThreads.start(name: "vjsearch-decode", stackSize: 8 << 20) {
            for (j, s) in starts.enumerated() {
                if queue.isClosed { break }
                Self.decode(path: s.path, job: j, spec: spec, options: decodeOptions, batch: batch,
                            after: s.after, firstClip: s.firstClip, into: queue)
            }
            queue.close()
            willEnd?()
        }
    }

    /// Decodes one file into clip batches on the decode thread: its clip windows from index `firstClip` on, which
    /// end after `after` seconds (a partial video resumes after its last stored window).
    static func decode(path: String, job: Int, spec: ClipSpec, options: FrameSampler.Options, batch: Int,
                       after: Double = 0, firstClip: Int = 0, into queue: BoundedQueue<Item>) {
        let clock = ContinuousClock()
        var busy = Duration.zero
        do {
            var t0 = clock.now
            let file = try MediaFile(path: path)
            guard queue.push(.opened(job: job, duration: file.info.duration)) else { return }
            // Half a sample past the stored window's end: that window is skipped whatever the rounding.
            let stream = try ClipStream(file: file, spec: spec, options: options, from: after > 0 ? after + spec.step / 2 : 0)
            let shape = [spec.frames, 3, spec.size, spec.size]
            var buffer = [Float](repeating: 0, count: stream.floatsPerClip)
            var clips: [Clip] = []
            var tensors: [Tensor] = []
            var lastEnd = 0.0
            while let clip = try buffer.withUnsafeMutableBufferPointer({ b throws(MediaError) in try stream.next(into: b) }) {
                if queue.isClosed { return }
                guard clip.index >= firstClip else { continue }
                clips.append(clip)
                tensors.append(Tensor(shape: shape, scalars: buffer))
                lastEnd = max(lastEnd, clip.frameTimes.last ?? clip.end)
                if clips.count == batch {
                    busy += clock.now - t0
                    guard queue.push(.clips(job: job, clips: clips, tensors: tensors, decodeSeconds: seconds(busy))) else { return }
                    busy = .zero
                    clips = []
                    tensors = []
                    t0 = clock.now
                }
            }
            if !clips.isEmpty {
                busy += clock.now - t0
                guard queue.push(.clips(job: job, clips: clips, tensors: tensors, decodeSeconds: seconds(busy))) else { return }
                busy = .zero
                t0 = clock.now
            }
            let end = stream.sampler.endTime
            let duration = end > 0 ? end : (file.info.duration ?? lastEnd)
            busy += clock.now - t0
            _ = queue.push(.end(job: job, duration: duration, decodeSeconds: seconds(busy)))
        } catch {
            _ = queue.push(.failed(job: job, failure: VideoFailure(error), decodeSeconds: seconds(busy)))
        }
    }
}

/// A blocking FIFO of at most `capacity` items between two threads; `close` wakes both sides.
final class BoundedQueue<Element>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Element] = []
    private var closed = false
    let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    var isClosed: Bool {
        condition.lock()
        defer { condition.unlock() }
        return closed
    }

    /// Waits for room; false when the queue was closed (the consumer is gone).
    func push(_ item: Element) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= capacity && !closed { condition.wait() }
        if closed { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    /// Waits for an item; nil once closed and drained.
    func pop() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !closed { condition.wait() }
        if items.isEmpty { return nil }
        let item = items.removeFirst()
        condition.broadcast()
        return item
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}

/// Threads that their starter can wait out (Foundation's `Thread` has no join): `join()` returns once every thread
/// started here has returned from its body.
final class ThreadGroup: Sendable {
    private let running = DispatchGroup()
    private let count = Atomic<Int>(0)

    /// Threads started here whose body has not returned (a test observable, like `WorkerPool.helperCount`).
    var alive: Int { count.load(ordering: .acquiring) }

    /// Runs `body` on a new thread named `name` with a stack of `stackSize` bytes.
    func start(name: String, stackSize: Int, _ body: @escaping @Sendable () -> Void) {
        running.enter()
        count.add(1, ordering: .relaxed)
        let thread = Thread { [self] in
            body()
            count.subtract(1, ordering: .releasing)
            running.leave()
        }
        thread.name = name
        thread.stackSize = stackSize
        thread.start()
    }

    /// Waits until every thread started here has ended.
    func join() { running.wait() }
}
