import ArgumentParser
import Convert
import Foundation
import Hub
import JEPA
import SystemCall

extension ModelCommand {
    /// Exit statuses of `model install` beyond 0, 1, 64 and `ExitStatus.unavailable` (the hub cannot be reached
    /// and the cache does not hold the files).
    enum InstallStatus {
        /// A gated repository refused: its licence is not accepted, or no token was given (EX_NOPERM).
        static let gated = ExitCode(77)
    }

    struct Install: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download public weights and build a model bundle from them, e.g. the full-size open-vljepa.",
            discussion: """
                Examples:
                  vjsearch model install open-vljepa
                  HF_TOKEN=hf_… vjsearch model install open-vljepa --dtype bf16
                  vjsearch model install open-vljepa --hub http://127.0.0.1:8765
                  vjsearch model install open-vljepa --frames 4 --fps 1 --dest ~/ovj-4f

                --frames 4 --fps 1 keeps the 4 s clip and halves the visual tokens, for about 0.55 of the \
                time per clip (the model was trained on 8 frames: expect recall lost, which was not measured); \
                --stride 4 removes the overlap between clips and halves the clips indexed, but a moment can then \
                straddle two clips. Without --dest these replace the bundle installed with the recipe's settings.

                A recipe (Models/recipes/NAME.json) names the hub repositories and files and the converter. \
                Files go to the Hugging Face cache (~/.cache/huggingface/hub, or $HF_HUB_CACHE / $HF_HOME), \
                where files other tools downloaded are reused after their hashes are checked; a download that \
                stopped resumes where it stopped. The bundle is built in a hidden folder beside DEST and renamed \
                into place when complete, so a stopped install leaves nothing half-usable; running it again \
                resumes. Llama 3.2 and Gemma are gated: accept their licences on the hub, then set HF_TOKEN \
                or run `huggingface-cli login`.

                Exit status: 0 installed (or already installed); 1 failed (a checksum, a conversion, the disk); \
                64 usage (unknown recipe); 69 the hub cannot be reached; 77 a gated repository refused.
                """)

        @Argument(help: ArgumentHelp("A recipe name (`vjsearch model list` shows them) or a recipe file.", valueName: "recipe"))
        var recipe: String

        @Option(help: ArgumentHelp("The bundle folder to create (default: ~/.local/share/vjsearch/models/RECIPE).", valueName: "dir"))
        var dest: String?

        @Option(help: ArgumentHelp("The hub's address (default: $HF_ENDPOINT, else https://huggingface.co).", valueName: "url"))
        var hub: String?

        @Option(help: ArgumentHelp("Weights on disk: f32 (exact, the default), bf16 or f16 (half the size).", valueName: "type"))
        var dtype: ConvertOptions.DType?

        @Option(help: ArgumentHelp("Frames per clip (default: the recipe's; 8 for open-vljepa).", valueName: "n"))
        var frames: Int?

        @Option(help: ArgumentHelp("Frames sampled per second (default: the recipe's, else 2).", valueName: "rate"))
        var fps: Double?

        @Option(help: ArgumentHelp("Seconds between clip starts (default: half the clip, frames ÷ fps).", valueName: "seconds"))
        var stride: Double?

        @Flag(help: "Build the bundle again even if this recipe is already installed there.")
        var force = false

        @Option(help: "Progress on stderr: auto (a line redrawn on a terminal, else every 10 s), tty, plain or none.")
        var progress: ProgressMode = .auto

        func validate() throws {
            if let frames, !(1...10_000).contains(frames) { throw ValidationError("--frames \(frames): must be 1…10000") }
            if let fps, !(fps.isFinite && fps > 0 && fps <= 1000) { throw ValidationError("--fps \(fps): must be in (0, 1000]") }
            if let stride, !(stride.isFinite && stride > 0 && stride <= 1e6) {
                throw ValidationError("--stride \(stride): must be in (0, 1000000] seconds")
            }
        }

        func run() async throws {
            let catalog = ModelCatalog()
            var recipe: Recipe
            do {
                recipe = try RecipeBook(folders: catalog.recipeFolders).recipe(self.recipe)
            } catch let error as RecipeError {
                Diagnostics.error(error.description)
                throw ExitCode.validationFailure
            }
            // The clip options are the recipe's convert settings overridden, so an install with other
            // choices is told apart from the one already there (the record holds the recipe's fingerprint).
            if let frames { recipe.convert.frames = frames }
            if let fps { recipe.convert.fps = fps }
            if let stride { recipe.convert.stride = stride }
            let dest = URL(fileURLWithPath: dest ?? catalog.userFolder.appendingPathComponent(recipe.name).path).standardizedFileURL
            let installer = Installer(recipe: recipe, dest: dest, dtype: dtype ?? recipe.convert.dtype.flatMap(ConvertOptions.DType.init) ?? .f32,
                                      display: InstallDisplay(progress))
            do {
                let settings = try HubSettings.resolve(hub: hub)
                try await installer.run(settings: settings, force: force)
            } catch let error as HubError {
                installer.display.finish()
                Diagnostics.error(error.description)
                switch error {
                case .gated: throw InstallStatus.gated
                case .unreachable: throw ExitStatus.unavailable
                default: throw ExitStatus.someFailed
                }
            } catch let error as RecipeError {
                Diagnostics.error(error.description)
                throw ExitCode.validationFailure
            } catch let error as ExitCode {
                throw error
            } catch {
                installer.display.finish()
                Diagnostics.error("\(error)")
                throw ExitStatus.someFailed
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a bundle that `vjsearch model install` made (the Hugging Face cache is kept).",
            discussion: """
                Examples:
                  vjsearch model remove open-vljepa
                  vjsearch model remove ~/models/open-vljepa

                Only bundles with the INSTALL.json that `model install` writes are removed; libraries indexed \
                with the model cannot be searched until it is installed again.
                """ + ExitStatus.pointer)

        @Argument(help: ArgumentHelp("An installed bundle's name or folder.", valueName: "name|dir"))
        var model: String

        func run() async throws {
            let directory: URL
            do {
                directory = try ModelOptions.resolve(model, libraryModelID: nil)
            } catch {
                Diagnostics.error("\(error)")
                throw ExitCode.validationFailure
            }
            let record = directory.appendingPathComponent(Installer.recordName)
            guard FileManager.default.fileExists(atPath: record.path) else {
                Diagnostics.error("\(directory.path): not made by `vjsearch model install` (no \(Installer.recordName)); remove the folder yourself if you mean to")
                throw ExitStatus.someFailed
            }
            let size = ModelCatalog.size(of: directory)
            do {
                // Renamed away first, so that no reader sees a half-deleted bundle.
                let doomed = directory.deletingLastPathComponent()
                    .appendingPathComponent(".\(directory.lastPathComponent).removing-\(getpid())")
                try SystemCallError.check(rename(directory.path, doomed.path), "rename", path: directory.path)
                try FileManager.default.removeItem(at: doomed)
            } catch {
                Diagnostics.error("\(error)")
                throw ExitStatus.someFailed
            }
            print("removed \(directory.path) (\(ModelCommand.List.megabytes(size)))")
        }
    }
}
