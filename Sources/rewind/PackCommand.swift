import ArgumentParser
import Foundation
import TraceFormat
import VirtualMachine

extension Rewind {
  struct Pack: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Make a recording self-contained, ready to move to another machine.",
      discussion: """
        Saved files that are hard links (to system libraries, or shared with other recordings) \
        become copies of their own, files no event refers to are removed, and every file the \
        events refer to is checked to be there. Saved files are already deduplicated by content.
        """)

    @Argument(help: "The trace (default: the latest recording).")
    var trace: String?

    func run() throws {
      if let trace, let path = try? TraceLocation.resolve(trace, root: TraceLocation.defaultRoot()), VMTrace.isVMTrace(path) {
        do {
          print(try VMTrace(directory: path).pack(qemu: try QEMUInstallation.locate()))
          return
        } catch {
          throw VMExit.fail(error)
        }
      }
      let reader = try openTrace(trace)
      var referenced: Set<String> = []
      while let event = try readEvent(reader) {
        switch event {
        case .exec(let e):
          referenced.insert(e.executable.contentHash)
          for mapping in e.mappings { if let file = mapping.file { referenced.insert(file.contentHash) } }
        case .syscall(let e):
          if let file = e.mappedFile { referenced.insert(file.contentHash) }
        default:
          break
        }
      }
      let filesDirectory = reader.directory + "/files"
      let present = Set((try? FileManager.default.contentsOfDirectory(atPath: filesDirectory)) ?? [])
      let missing = referenced.subtracting(present)
      if !missing.isEmpty {
        throw fail(
          "'\(reader.directory)' lacks \(missing.count) saved file(s) its events need (\(missing.sorted().prefix(3).joined(separator: ", "))...); it cannot be made self-contained. Record again.",
          status: ExitCodes.badTrace)
      }
      var copied = 0
      var removed = 0
      for name in present {
        let path = filesDirectory + "/" + name
        if !referenced.contains(name) {
          try FileManager.default.removeItem(atPath: path)
          removed += 1
          continue
        }
        var info = stat()
        guard lstat(path, &info) == 0, info.st_nlink > 1 else { continue }
        // Copy next to it, then rename over the link: the trace never lacks the file.
        let temporary = filesDirectory + "/.pack-" + name
        try? FileManager.default.removeItem(atPath: temporary)
        try FileManager.default.copyItem(atPath: path, toPath: temporary)
        chmod(temporary, 0o555)
        guard rename(temporary, path) == 0 else { throw fail("cannot replace \(path): \(String(cString: strerror(errno)))", status: 1) }
        copied += 1
      }
      print(
        "packed \(reader.directory): \(referenced.count) saved files (\(byteCount(diskUsage(of: filesDirectory)))), "
          + "\(copied) hard links made copies, \(removed) unreferenced files removed. "
          + "It can be copied anywhere (cp -r, tar) and replayed there.")
    }
  }
}
