// swift-tools-version: 6.0
// vjsearch: local text-to-video moment search built on VL-JEPA.
//
// Data flow (one job per module, arrows point one way):
//   Media (CFFmpeg) ─┐
//   JEPA → Neural (CBLAS, CKernels) ─┼─▶ Catalog ─▶ vjsearch (CLI + daemon)
//   VectorIndex (Index/, CLMDB) ─┘                 Catalog ─▶ Server (Hummingbird: `vjsearch serve`) ─▶ vjsearch
//   Hub (AsyncHTTPClient: downloads) + Convert (checkpoints → bundles) ─▶ vjsearch (`model install`)
//   SharedLibrary (PostgresNIO): a library shared by many machines: the catalog in PostgreSQL, the work queue, replicas
// Under them all, SystemCall: a failed system call as swift-system's Errno with the call and the file.
import PackageDescription

// VectorIndex: the HNSW distance kernels need AVX2/FMA codegen to match hnswlib (built with -march=native)
// on x86-64, and stay optimised in debug builds so that the index tests run in seconds, not minutes.
#if arch(x86_64)
let vectorIndexSettings: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "haswell"], .when(configuration: .release)),
    .unsafeFlags(["-O"], .when(configuration: .debug)),
]
// Neural: the elementwise kernels (exp, erf, norms, RoPE, half → float) are SIMD8 loops; AVX2/FMA runs each in
// one instruction where baseline x86-64 needs two SSE ones. Release builds only, as for VectorIndex.
// `VJ_FMA` tells the kernels that the target has fused multiply-add, so `addingProduct` is one instruction.
// Debug builds optimise it too: unoptimised, those loops made the end-to-end model tests take minutes.
let neuralSettings: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "haswell"], .when(configuration: .release)),
    .define("VJ_FMA", .when(configuration: .release)),
    .unsafeFlags(["-O"], .when(configuration: .debug)),
]
#else
let vectorIndexSettings: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]
let neuralSettings: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]
#endif

let package = Package(
    name: "vjsearch",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "vjsearch", targets: ["vjsearch"]),
        .executable(name: "vjsearch-ann", targets: ["vjsearch-ann"]),
        .executable(name: "vjsearch-fuzz", targets: ["vjsearch-fuzz"]),
        .executable(name: "vjsearch-hub-mirror", targets: ["vjsearch-hub-mirror"]),
        .library(name: "VectorIndex", targets: ["VectorIndex"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.26.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
    ],
    targets: [
        // System libraries: a module map and one prefixed shim header each.
        .systemLibrary(
            name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CLMDB", path: "Sources/CLMDB", pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]),
        // FFmpeg's headers only: CFFmpegLoader opens its libraries on first use (see its header for why).
        .systemLibrary(
            name: "CFFmpeg", path: "Sources/CFFmpeg",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev", "libavutil-dev"])]),
        .target(name: "CFFmpegLoader", dependencies: ["CFFmpeg"]),

        // Failed system calls: swift-system's `Errno` with the call and the file, the one errno shape of every module.
        .target(name: "SystemCall", dependencies: [.product(name: "SystemPackage", package: "swift-system")]),

        // Wrapper modules.
        .target(name: "Media", dependencies: ["CFFmpeg", "CFFmpegLoader", "SystemCall"]),
        // The AVX2 GEMM kernel of attention; optimised in debug builds too, so that tests stay quick.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O2"])]),
        .target(name: "Neural", dependencies: ["CBLAS", "CKernels", "SystemCall"], swiftSettings: neuralSettings),
        .target(name: "JEPA", dependencies: ["Neural"]),
        .target(name: "VectorIndex", dependencies: ["CLMDB", "SystemCall"], path: "Index", swiftSettings: vectorIndexSettings),
        .target(name: "Catalog", dependencies: ["Media", "JEPA", "VectorIndex", "SystemCall"]),
        // Public checkpoints into bundles without Python: PyTorch archives (a zip and a restricted unpickler that never
        // runs code), Hugging Face folders, and the bundle writer that matches Tools/convert/convert.py byte for byte.
        .target(name: "Convert", dependencies: ["Neural", "JEPA", "SystemCall"]),
        // `vjsearch model install`: recipes (data), Hugging Face hub downloads that resume and verify, the hub cache.
        .target(
            name: "Hub",
            dependencies: [
                "JEPA", "SystemCall",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]),
        // A local server with the hub's URL scheme over a folder of repositories: the tests' and Tools/convert/mirror's.
        .target(
            name: "HubMirror",
            dependencies: ["JEPA", .product(name: "Hummingbird", package: "hummingbird")],
            path: "Tools/convert/HubMirror"),
        .executableTarget(
            name: "vjsearch-hub-mirror",
            dependencies: ["HubMirror", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tools/convert/HubMirrorMain"),

        // Past one machine: a library in PostgreSQL (addresses, the versioned schema and its migrations so far).
        .target(
            name: "SharedLibrary",
            dependencies: [
                "Catalog",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),

        // The ingestion daemon: inotify watching, settling, the work queue and the published state.
        .target(
            name: "Watch",
            dependencies: [
                "Catalog", "SystemCall",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]),

        // `vjsearch serve`: the HTTP API, thumbnails, media with byte ranges and the web page.
        .target(
            name: "Server",
            dependencies: [
                "Catalog", "Media",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]),

        // Executables.
        .executableTarget(
            name: "vjsearch",
            dependencies: [
                "Catalog", "Media", "JEPA", "VectorIndex", "Watch", "Server", "Convert", "Hub", "SharedLibrary",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(
            name: "vjsearch-ann",
            dependencies: ["VectorIndex", .product(name: "ArgumentParser", package: "swift-argument-parser")]),

        // Fuzzing: one harness per parser, the libFuzzer driver (a replayer in ordinary builds), see Tools/fuzz.
        .target(name: "FuzzHarnesses", dependencies: ["Neural", "JEPA", "Media", "VectorIndex", "Catalog", "Convert"],
                path: "Tools/fuzz/Harnesses"),
        .executableTarget(name: "vjsearch-fuzz", dependencies: ["FuzzHarnesses"], path: "Tools/fuzz/Driver"),

        // Tests.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "MediaTests", dependencies: ["Media", "TestSupport"]),
        .testTarget(name: "NeuralTests", dependencies: ["Neural", "CKernels", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "JEPATests", dependencies: ["JEPA", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "VectorIndexTests", dependencies: ["VectorIndex", "TestSupport"]),
        .testTarget(name: "CatalogTests", dependencies: ["Catalog", "TestSupport"]),
        .testTarget(name: "VJSearchTests", dependencies: ["Catalog", "VectorIndex", "HubMirror", "Watch", "TestSupport"]),
        .testTarget(name: "WatchTests", dependencies: ["Watch", "Catalog", "TestSupport"]),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "Catalog", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]),
        .testTarget(name: "FuzzReplayTests", dependencies: ["FuzzHarnesses"]),
        .testTarget(name: "ConvertTests", dependencies: ["Convert", "Neural", "JEPA", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "HubTests", dependencies: ["Hub", "HubMirror", "Convert", "TestSupport"]),
        .testTarget(name: "SharedLibraryTests", dependencies: ["SharedLibrary", "TestSupport"]),
    ]
)
